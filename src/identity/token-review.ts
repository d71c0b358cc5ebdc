import { AuthenticationV1Api, type KubeConfig, type V1TokenReview } from '@kubernetes/client-node';
import { TokenError, AuthenticatorUnavailableError, parseServiceAccountUsername, type TokenAuthenticator, type ServiceAccountSubject } from './tokens.ts';

/** The part of the API the authenticator needs, so the decision logic can be read (and tested) apart from HTTP. */
export type TokenReviewCall = (review: V1TokenReview) => Promise<V1TokenReview>;

export function tokenReviewCallFromKubeConfig(kubeConfig: KubeConfig): TokenReviewCall {
  const api = kubeConfig.makeApiClient(AuthenticationV1Api);
  return (review) => api.createTokenReview({ body: review });
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
    let review: V1TokenReview;
    try {
      review = await this.#call({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [this.#audience] } });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new AuthenticatorUnavailableError(`TokenReview failed${typeof code === 'number' ? ` with HTTP ${code}` : ''}: ${(error as Error).message.split('\n')[0]}`);
    }
    return interpretTokenReview(review, this.#audience);
  }
}

export function interpretTokenReview(review: V1TokenReview, audience: string): ServiceAccountSubject {
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
