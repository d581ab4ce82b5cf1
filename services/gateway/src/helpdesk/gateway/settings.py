"""Gateway configuration (DESIGN.md §5)."""

from __future__ import annotations

from pydantic import Field

from helpdesk.contracts.attachments import (
    DEFAULT_MAX_BYTES,
    DEFAULT_TICKET_MAX_BYTES,
    FILES_PER_REQUEST_MAX,
)
from helpdesk.servicekit.access_tokens import VerifyingKeyPem
from helpdesk.servicekit.settings import ServiceSettings


class Settings(ServiceSettings):
    # PEM of the Ed25519 public key: the gateway verifies tokens, never signs them.
    jwt_public_key: VerifyingKeyPem
    public_url: str = "http://127.0.0.1:8080"
    # How long a command may take before the client gets 503 + Retry-After.
    command_timeout: float = 5.0
    # /healthz, /readyz (with details) and /metrics: on this port only, never on the
    # public HELPDESK_HTTP_PORT (docs/security.md).
    ops_port: int = 8090
    # Attachments (docs/attachments.md): per file (413 beyond), per ticket (shown in
    # the portal; the tickets service enforces it), and the optional clamd scanner.
    attachment_max_bytes: int = Field(default=DEFAULT_MAX_BYTES, gt=0)
    attachment_ticket_max_bytes: int = Field(default=DEFAULT_TICKET_MAX_BYTES, gt=0)
    clamd_url: str | None = None
    # The organisation's OpenID Connect issuer, as identity has it: set, the login page
    # offers "Sign in with your organisation" (identity does the rest; docs/sso.md).
    oidc_issuer: str = ""
    # The organisation's SAML IdP metadata, as identity has it: set, the login page
    # offers the organisation's button for SAML (when no OIDC issuer is set).
    saml_idp_metadata_url: str = ""

    @property
    def attachment_request_max_bytes(self) -> int:
        """The body of a request that carries files: as many as one request may hold."""
        return self.attachment_max_bytes * FILES_PER_REQUEST_MAX + 1024 * 1024
