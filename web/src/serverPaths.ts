/** Paths the server answers itself: the service worker must never answer them with the app shell. */
export const SERVER_PATHS = [/^\/api\//, /^\/socket\.io/, /^\/docs/, /^\/redoc/, /^\/openapi\.json/, /^\/healthz/, /^\/readyz/, /^\/metrics/];
