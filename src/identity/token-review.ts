import type { KubeClient } from '../kube/client.ts';
import { isRecord } from '../kube/types.ts';
import { TokenError, AuthenticatorUnavailableError, parseServiceAccountUsername, type TokenAuthenticator, type ServiceAccountSubject } from './tokens.ts';

/** The fields of authentication.k8s.io/v1 TokenReview that weft sends and reads. */
export interface TokenReview {
  apiVersion?: string;
  kind?: string;
  spec: { token: string; audiences?: string[] };
  status?: {
    authenticated?: boolean;
    error?: string;
    audiences?: string[];
    user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  };
}

/** The part of the API the authenticator needs, so the decision logic can be read (and tested) apart from HTTP. */
export type TokenReviewCall = (review: TokenReview) => Promise<TokenReview>;

const TOKEN_REVIEW_TIMEOUT_MS = 10_000;

export function tokenReviewCallFromClient(client: KubeClient): TokenReviewCall {
  return async (review) => {
    const answer = await client.request('/apis/authentication.k8s.io/v1/tokenreviews', { method: 'POST', body: review, timeoutMs: TOKEN_REVIEW_TIMEOUT_MS, maxBytes: 1024 * 1024 });
    if (!isRecord(answer) || !isRecord(answer.spec)) throw new Error('the TokenReview answer is not a TokenReview');
    return answer as unknown as TokenReview;
  };
}

/**
 * Asks the API server whether a token is valid for our audience (TokenReview). The API server
 * checks signature, expiry and that the bound pod and service account still exist, which a
 * local JWKS check cannot.
 */
export class TokenReviewAuthenticator implements TokenAuthenticator {
  readonly kind = 'tokenreview';
  readonly #call: TokenReviewCall;
  readonly #audience: string;

  constructor(call: TokenReviewCall, audience: string) {
    this.#call = call;
    this.#audience = audience;
  }

  async authenticate(token: string): Promise<ServiceAccountSubject> {
    let review: TokenReview;
    try {
      review = await this.#call({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [this.#audience] } });
    } catch (error) {
      // The client's errors already name the URL, the HTTP status and the API server's message.
      throw new AuthenticatorUnavailableError(`TokenReview failed: ${(error as Error).message.split('\n')[0]}`);
    }
    return interpretTokenReview(review, this.#audience);
  }
}

export function interpretTokenReview(review: TokenReview, audience: string): ServiceAccountSubject {
  const status = review.status;
  if (status?.authenticated !== true) {
    const why = status?.error ?? 'not authenticated';
    // The API server reports a wrong audience as a plain authentication failure; name it when it says so.
    throw new TokenError(/audience/i.test(why) ? 'audience' : 'rejected', `TokenReview refused the token: ${why}`);
  }
  // An authenticator that ignores audiences answers with none: such a yes is not a yes for us.
  if (!(status.audiences ?? []).includes(audience)) {
    throw new TokenError('audience', `TokenReview did not confirm audience "${audience}" (got ${JSON.stringify(status.audiences ?? [])})`);
  }
  const username = status.user?.username ?? '';
  const subject = parseServiceAccountUsername(username);
  if (!subject) throw new TokenError('subject', `token belongs to "${username}", not a service account`);
  const podName = status.user?.extra?.['authentication.kubernetes.io/pod-name']?.[0];
  return podName !== undefined ? { ...subject, podName } : subject;
}
