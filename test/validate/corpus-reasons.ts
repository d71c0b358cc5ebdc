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
  // VirtualService
  'virtualservice/101-http-route-without-destination-or-redirect.yaml': { path: /^spec\.http\[0\]\.route$/, message: /route destinations, a redirect, a directResponse/ },
  'virtualservice/103-wildcard-host-mesh.yaml': { path: /^spec\.hosts\[0\]$/, message: /"\*" is not allowed .*mesh/ },
  'virtualservice/104-wildcard-host-gateway-plus-mesh.yaml': { path: /^spec\.hosts\[0\]$/, message: /"\*" is not allowed .*mesh/ },
  'virtualservice/105-duplicate-hosts-wildcards.yaml': { path: /^spec\.hosts\[1\]$/, message: /"\*\.bar" duplicates "\*\.foo\.bar"/ },
  'virtualservice/106-duplicate-hosts-exact-and-wildcard.yaml': { path: /^spec\.hosts\[1\]$/, message: /"\*\.example\.com" duplicates "api\.example\.com"/ },
  'virtualservice/107-partial-wildcard-host.yaml': { path: /^spec\.hosts\[0\]$/, message: /label "\*" is not a DNS label/ },
  'virtualservice/108-host-with-port.yaml': { path: /^spec\.hosts\[0\]$/, message: /label "bookinfo:9080" is not a DNS label/ },
  'virtualservice/109-host-underscore.yaml': { path: /^spec\.hosts\[0\]$/, message: /label "my_svc" is not a DNS label/ },
  'virtualservice/111-destination-host-ip.yaml': { path: /^spec\.http\[0\]\.route\[0\]\.destination\.host$/, message: /top-level domain "1" must not be all digits/ },
  'virtualservice/112-subset-name-with-dot.yaml': { path: /^spec\.http\[0\]\.route\[0\]\.destination\.subset$/, message: /"v1\.0" is not a valid subset name/ },
  'virtualservice/113-destination-port-out-of-range.yaml': { path: /^spec\.http\[0\]\.route\[0\]\.destination\.port\.number$/, message: /70000 .*1 to 65535/ },
  'virtualservice/115-all-weights-zero.yaml': { path: /^spec\.http\[0\]\.route$/, message: /weights .* all 0/ },
  'virtualservice/116-route-and-redirect.yaml': { path: /^spec\.http\[0\]\.redirect$/, message: /both route and redirect/ },
  'virtualservice/119-redirect-code-only.yaml': { path: /^spec\.http\[0\]\.redirect$/, message: /set uri, authority, scheme, port/ },
  'virtualservice/127-fault-empty.yaml': { path: /^spec\.http\[0\]\.fault$/, message: /needs an abort, a delay/ },
  'virtualservice/128-fault-delay-percentage-101.yaml': { path: /^spec\.http\[0\]\.fault\.delay\.percentage\.value$/, message: /^101 .*0\.0001 to 100/ },
  'virtualservice/129-fault-percentage-too-small.yaml': { path: /^spec\.http\[0\]\.fault\.abort\.percentage\.value$/, message: /0\.00001 .*0\.0001 to 100/ },
  'virtualservice/131-timeout-zero.yaml': { path: /^spec\.http\[0\]\.timeout$/, message: /"0s" .*1ms/ },
  'virtualservice/133-retries-configured-with-zero-attempts.yaml': { path: /^spec\.http\[0\]\.retries\.attempts$/, message: /0 disables retries, yet perTryTimeout, retryOn/ },
  'virtualservice/134-retries-unknown-retryon.yaml': { path: /^spec\.http\[0\]\.retries\.retryOn$/, message: /^"invalid policy" is not a retryOn policy/ },
  'virtualservice/135-retries-retryon-space-after-comma.yaml': { path: /^spec\.http\[0\]\.retries\.retryOn$/, message: /^" connect-failure" is not a retryOn policy/ },
  'virtualservice/137-mirror-percentage-over-100.yaml': { path: /^spec\.http\[0\]\.mirrorPercentage\.value$/, message: /101 is more than 100/ },
  'virtualservice/140-cors-bad-method.yaml': { path: /^spec\.http\[0\]\.corsPolicy\.allowMethods\[1\]$/, message: /"PUTT" is not a supported HTTP method/ },
  'virtualservice/141-cors-lowercase-method.yaml': { path: /^spec\.http\[0\]\.corsPolicy\.allowMethods\[0\]$/, message: /"get" is not a supported HTTP method/ },
  'virtualservice/143-cors-empty-origin.yaml': { path: /^spec\.http\[0\]\.corsPolicy\.allowOrigins\[0\]$/, message: /non-empty exact, prefix or regex/ },
  'virtualservice/144-header-match-empty-prefix.yaml': { path: /^spec\.http\[0\]\.match\[0\]\.headers\.end-user\.prefix$/, message: /must not be empty/ },
  'virtualservice/145-uri-regex-does-not-compile.yaml': { path: /^spec\.http\[0\]\.match\[0\]\.uri\.regex$/, message: /missing argument to repetition operator/ },
  'virtualservice/146-header-match-name-with-space.yaml': { path: /^spec\.http\[0\]\.match\[0\]\.headers\["end user"\]$/, message: /"end user" is not a valid header name/ },
  'virtualservice/147-jwt-claim-routing-without-gateway.yaml': { path: /^spec\.http\[0\]\.match\[0\]\.headers\["@request\.auth\.claims\.foo"\]$/, message: /JWT claims .*only works on gateways/ },
  'virtualservice/148-source-namespace-invalid.yaml': { path: /^spec\.http\[0\]\.match\[0\]\.sourceNamespace$/, message: /"bad_ns" is not a namespace name/ },
  'virtualservice/149-set-pseudo-header-path.yaml': { path: /^spec\.http\[0\]\.headers\.request\.set\[":path"\]$/, message: /pseudo-headers/ },
  'virtualservice/150-response-set-host-header.yaml': { path: /^spec\.http\[0\]\.headers\.response\.set\.Host$/, message: /Host header can only be set on requests/ },
  'virtualservice/152-authority-rewrite-and-header.yaml': { path: /^spec\.http\[0\]\.headers\.request\.set\[":authority"\]$/, message: /authority to "foo", but .*rewrite\.authority already sets it to "bar"/ },
  'virtualservice/155-delegate-child-with-delegate.yaml': { path: /^spec\.http\[0\]\.delegate$/, message: /delegate VirtualService .* cannot delegate again/ },
  'virtualservice/156-gateway-name-wildcard.yaml': { path: /^spec\.gateways\[0\]$/, message: /"\*" in "ns1\/\*" is not a valid gateway name/ },
  'virtualservice/157-tcp-without-route.yaml': { path: /^spec\.tcp\[0\]\.route$/, message: /required/ },
  'virtualservice/159-tls-match-without-sni-hosts.yaml': { path: /^spec\.tls\[0\]\.match\[0\]\.sniHosts$/, message: /required/ },
  'virtualservice/160-tcp-destination-subnet-invalid.yaml': { path: /^spec\.tcp\[0\]\.match\[0\]\.destinationSubnets\[0\]$/, message: /"10\.0\.0\.0\/33" is not a valid CIDR block/ },
  'virtualservice/162-export-to-none.yaml': { path: /^spec\.exportTo\[0\]$/, message: /"~" .*not allowed/ },
  'virtualservice/164-unknown-top-level-field.yaml': { path: /^routing$/, message: /unknown top-level field "routing" on this VirtualService/ },
  // AuthorizationPolicy
  'authorizationpolicy/102-custom-without-provider.yaml': { path: /^spec\.provider\.name$/, message: /required with action CUSTOM/ },
  'authorizationpolicy/105-custom-with-principals.yaml': { path: /^spec\.rules\[0\]\.from\[0\]\.source\.principals$/, message: /not supported with action CUSTOM/ },
  'authorizationpolicy/107-action-lowercase.yaml': { path: /^spec\.action$/, message: /"allow" is not an action.*ALLOW, DENY, AUDIT or CUSTOM/ },
  'authorizationpolicy/108-from-without-source.yaml': { path: /^spec\.rules\[0\]\.from\[0\]\.source$/, message: /required in rule 0/ },
  'authorizationpolicy/109-from-empty-source.yaml': { path: /^spec\.rules\[0\]\.from\[0\]\.source$/, message: /must not be empty in rule 0/ },
  'authorizationpolicy/110-to-without-operation.yaml': { path: /^spec\.rules\[0\]\.to\[0\]\.operation$/, message: /required in rule 0/ },
  'authorizationpolicy/115-ports-out-of-range.yaml': { path: /^spec\.rules\[0\]\.to\[0\]\.operation\.ports\[0\]$/, message: /"65536" is not a port/ },
  'authorizationpolicy/116-ports-range-syntax.yaml': { path: /^spec\.rules\[0\]\.to\[0\]\.operation\.ports\[0\]$/, message: /"8080-8090" is not a port.*no ranges/ },
  'authorizationpolicy/117-path-named-variable.yaml': { path: /^spec\.rules\[0\]\.to\[0\]\.operation\.paths\[0\]$/, message: /"\/foo\/\{buzz\}\/bar": "\{" and "\}" are only allowed as whole segments/ },
  'authorizationpolicy/118-path-match-any-not-last.yaml': { path: /^spec\.rules\[0\]\.to\[0\]\.operation\.paths\[0\]$/, message: /\{\*\*\} must be the last operator/ },
  'authorizationpolicy/119-when-empty-key.yaml': { path: /^spec\.rules\[0\]\.when\[0\]\.key$/, message: /required/ },
  'authorizationpolicy/120-when-without-values.yaml': { path: /^spec\.rules\[0\]\.when\[0\]$/, message: /values or notValues must be set for key "source\.principal"/ },
  'authorizationpolicy/122-when-source-ip-invalid.yaml': { path: /^spec\.rules\[0\]\.when\[0\]\.values\[0\]$/, message: /"a\.b\.c\.d" is not an IP address/ },
  'authorizationpolicy/123-when-destination-namespace.yaml': { path: /^spec\.rules\[0\]\.when\[0\]\.key$/, message: /destination\.namespace is not supported.*metadata\.namespace/ },
  'authorizationpolicy/126-selector-wildcard-value.yaml': { path: /^spec\.selector\.matchLabels\.app$/, message: /wildcards are not supported in selectors: "app=httpbin-\*"/ },
  'authorizationpolicy/128-target-ref-and-selector.yaml': { path: /^spec$/, message: /only one of selector, targetRef or targetRefs, not selector and targetRef/ },
  'authorizationpolicy/129-target-ref-with-namespace.yaml': { path: /^spec\.targetRef\.namespace$/, message: /must not be set.*own namespace/ },
  'authorizationpolicy/130-target-ref-unsupported-kind.yaml': { path: /^spec\.targetRef$/, message: /cannot target apps\/Deployment/ },
  'authorizationpolicy/131-target-ref-and-target-refs.yaml': { path: /^spec$/, message: /not targetRef and targetRefs/ },
  'authorizationpolicy/134-dry-run-invalid-value.yaml': { path: /^metadata\.annotations\["istio\.io\/dry-run"\]$/, message: /"yes" is not a boolean/ },
  'authorizationpolicy/135-dry-run-on-audit.yaml': { path: /^metadata\.annotations\["istio\.io\/dry-run"\]$/, message: /only supported for action ALLOW or DENY.*AUDIT/ },
  'authorizationpolicy/136-unknown-top-level-field.yaml': { path: /^rules$/, message: /unknown top-level field "rules" on this AuthorizationPolicy/ },
};

/**
 * Valid cases that must carry a warning: the ones whose note says upstream warns, and the
 * upstream quirks RULES.md §6 asks weft to accept with a warning.
 */
export const WARNS: Record<string, RegExp> = {
  'virtualservice/028-deprecated-mirror-percent-warning.yaml': /^spec\.http\[0\]\.mirrorPercent: deprecated.*mirrorPercentage/,
  'authorizationpolicy/008-docs-dry-run-deny.yaml': /^spec\.rules: .*only HTTP attributes.*TCP/,
  'authorizationpolicy/023-selector-without-labels-warning.yaml': /^spec\.selector: selector without labels/,
  'serviceprofile/009-path-regex-not-compiled.yaml': /^spec\.routes\[0\]\.condition\.pathRegex: not a valid RE2/,
  'serviceprofile/020-negative-timeout-accepted.yaml': /^spec\.routes\[0\]\.timeout: negative timeout/,
};
