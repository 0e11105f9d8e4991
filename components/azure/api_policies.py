"""The API Management policy documents of JobsApi (XML, `rawxml`), one builder each, so tests and
the policy pack read the same text a deployment gets.

- API (all operations): an optional `validate-jwt`, the body-size limit (413 before the backend),
  the backend (the API function) and its authentication: the function's host key from a secret
  named value, plus a managed-identity token when asked. Never anonymous.
- Product (one per tier): `rate-limit` (calls per `rate_limit_period_s`, the tier's RPM) and `quota`
  (the tier's monthly requests), both per subscription: the policies every SKU, Consumption
  included, enforces. TPM and concurrent streams cannot be counted at the edge for a 202 submit; the
  runtime's shared limiter enforces those exactly.
"""

from xml.sax.saxutils import quoteattr

FUNCTION_KEY_NAMED_VALUE = "skyrelay-function-key"
BACKEND_ID = "skyrelay-functions"


def _wrap(inbound: str) -> str:
    return ("<policies>\n  <inbound>\n    <base />\n" + inbound + "  </inbound>\n  <backend>\n    <base />\n  </backend>\n"
            "  <outbound>\n    <base />\n  </outbound>\n  <on-error>\n    <base />\n  </on-error>\n</policies>\n")


def validate_jwt(openid_config_url: str, audience: str, issuer: str | None = None) -> str:
    issuers = f"      <issuers><issuer>{issuer}</issuer></issuers>\n" if issuer else ""
    return ('    <validate-jwt header-name="Authorization" failed-validation-httpcode="401" require-scheme="Bearer">\n'
            f"      <openid-config url={quoteattr(openid_config_url)} />\n"
            f"      <audiences><audience>{audience}</audience></audiences>\n" + issuers + "    </validate-jwt>\n")


def body_limit(max_body_bytes: int) -> str:
    """413 for a declared body over the limit, and for a chunked one that turns out larger."""
    return ('    <choose>\n      <when condition="@(int.Parse(context.Request.Headers.GetValueOrDefault(&quot;Content-Length&quot;, '
            f'&quot;0&quot;)) &gt; {max_body_bytes} || (context.Request.Body != null &amp;&amp; '
            f'context.Request.Body.As&lt;string&gt;(preserveContent: true).Length &gt; {max_body_bytes}))">\n'
            '        <return-response>\n          <set-status code="413" reason="Payload Too Large" />\n'
            '          <set-header name="Content-Type" exists-action="override"><value>application/json</value></set-header>\n'
            '          <set-body>{"error": {"code": "payload_too_large", "message": "request body over the limit"}}</set-body>\n'
            '        </return-response>\n      </when>\n    </choose>\n')


def api_policy(max_body_bytes: int, backend_auth: str, jwt: dict | None = None, identity_client_id: str | None = None,
               audience: str | None = None) -> str:
    inbound = validate_jwt(jwt["openid_config_url"], jwt["audience"], jwt.get("issuer")) if jwt else ""
    inbound += body_limit(max_body_bytes)
    inbound += f'    <set-backend-service backend-id="{BACKEND_ID}" />\n'
    # The HTTP trigger's authLevel is FUNCTION: the host key is always sent.
    inbound += (f'    <set-header name="x-functions-key" exists-action="override"><value>{{{{{FUNCTION_KEY_NAMED_VALUE}}}}}'
                "</value></set-header>\n")
    if backend_auth == "managed_identity":
        client = f' client-id="{identity_client_id}"' if identity_client_id else ""
        inbound += f'    <authentication-managed-identity resource={quoteattr(audience or "")}{client} />\n'
    return _wrap(inbound)


def product_policy(rpm: int, monthly_quota: int, rate_period_s: int = 60, quota_period_s: int = 2592000) -> str:
    """The tier's edge limits: RPM as rate-limit calls per minute, the monthly quota per 30 days."""
    calls = max(1, round(rpm * rate_period_s / 60))
    return _wrap(f'    <rate-limit calls="{calls}" renewal-period="{rate_period_s}" />\n'
                 f'    <quota calls="{monthly_quota}" renewal-period="{quota_period_s}" />\n')
