// The addon's TypeScript face. The code lives in src/proxy-init/original-dst.ts so that the
// compiled build (tsc rootDir src) includes it; code under src/ should import it from there.
export {
  nativeAvailable,
  nativeUnavailableReason,
  originalDestination,
  originalDestinationOfFd,
  socketFd,
  type OriginalDestination,
} from '../src/proxy-init/original-dst.ts';
