// Deployment settings of the onestop pages: the one place that differs between the local stack and AWS.
// A classic script (not a module) so that a deployment can replace this file, or define
// window.ONESTOP_CONFIG before it, without touching the pages.
//
// Local stack (make serve): leave everything empty. The API is on the same origin and the pages sign
// people in through the local identity provider (POST /_local/token, a name and a role).
//
// AWS: set
//   cognitoDomain  the stack output HostedUiDomain, e.g. "https://onestop-prod-123456789012.auth.ap-east-1.amazoncognito.com"
//   clientId       the stack output UserPoolClientId (the web portal); the service-centre window's
//                  terminals use ServiceWindowClientId instead: the client is the channel the API records
//   apiBase        the stack output ApiUrl when the pages are not served from the API's origin
//   responseType   "code" (authorization code with PKCE: what the template's UserPoolClient allows) or
//                  "token" (implicit: the id_token comes back in the URL fragment; the client must
//                  list "implicit" in AllowedOAuthFlows)
//   redirectUri    where Cognito sends people back; empty = the page itself. Every page's URL (or this
//                  one) must be in the client's CallbackURLs.
// With cognitoDomain set the pages redirect to the hosted UI instead of showing the local form.
window.ONESTOP_CONFIG = Object.assign(
  {
    apiBase: "",
    cognitoDomain: "",
    clientId: "",
    responseType: "code",
    redirectUri: "",
    scope: "openid email profile",
  },
  window.ONESTOP_CONFIG || {},
);
