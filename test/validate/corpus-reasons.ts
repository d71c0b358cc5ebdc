// For each invalid corpus case: the field path weft must report and words its message must
// contain, written from the case's `reason`. Upstream's wording is not copied; these pin that
// weft refuses the case for the same cause.

export interface About {
  path: RegExp;
  message: RegExp;
}

export const ABOUT: Record<string, About> = {
  // ServiceProfile
  'serviceprofile/101-invalid-name.yaml': { path: /^metadata\.name$/, message: /"\^\.\^".*RFC 1123 subdomain/ },
  'serviceprofile/104-unknown-field-in-nested-all.yaml': { path: /^spec\.routes\[0\]\.condition\.all\[0\]\.path$/, message: /unknown field "path"/ },
  'serviceprofile/105-route-without-condition.yaml': { path: /^spec\.routes\[0\]\.condition$/, message: /required/ },
  'serviceprofile/108-response-class-without-condition.yaml': { path: /^spec\.routes\[0\]\.responseClasses\[0\]\.condition$/, message: /required/ },
  'serviceprofile/109-response-match-empty-nested.yaml': { path: /^spec\.routes\[0\]\.responseClasses\[0\]\.condition\.all\[0\]$/, message: /must set at least one/ },
  'serviceprofile/110-status-max-600.yaml': { path: /\.status\.max$/, message: /600.*100 to 599/ },
  'serviceprofile/111-status-max-below-min.yaml': { path: /\.not\.status\.max$/, message: /smaller than min/ },
  'serviceprofile/112-status-min-wrong-type.yaml': { path: /\.status\.min$/, message: /expected a whole number.*got boolean/ },
  'serviceprofile/113-retry-budget-missing-ttl.yaml': { path: /^spec\.retryBudget\.ttl$/, message: /required/ },
  'serviceprofile/117-null-route.yaml': { path: /^spec\.routes\[0\]$/, message: /null route/ },
  'serviceprofile/119-timeout-missing-unit.yaml': { path: /^spec\.routes\[0\]\.timeout$/, message: /"10" has no unit/ },
  'serviceprofile/120-timeout-days-unit.yaml': { path: /^spec\.routes\[0\]\.timeout$/, message: /unknown unit "d"/ },
  'serviceprofile/122-retry-budget-missing-min-retries.yaml': { path: /^spec\.retryBudget\.minRetriesPerSecond$/, message: /required/ },
  'serviceprofile/123-dst-override-bad-weight.yaml': { path: /^spec\.dstOverrides\[0\]\.weight$/, message: /"heavy" is not a quantity/ },
};
