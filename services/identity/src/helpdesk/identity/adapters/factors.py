"""Second factors' secrets: TOTP (pyotp), recovery codes, sealed seeds and the
signed sign-in challenges.

Every key here is derived from identity's access-token signing key (which only
identity holds), each for one purpose:
* TOTP seeds are stored sealed (XSalsa20-Poly1305, PyNaCl's SecretBox), so the
  event store alone does not give away anyone's codes;
* recovery codes are stored as keyed hashes (HMAC-SHA-256): 50 random bits
  each, and a stolen database cannot be brute-forced without the key;
* a sign-in challenge is `<user>.<purpose>.<credentials version>.<expiry>` and
  an HMAC over it: stateless, bound to the account's current password (a reset
  voids it) and to its purpose (an enrolment challenge does not verify).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from uuid import UUID

import nacl.exceptions
import nacl.secret
import pyotp

from helpdesk.identity.handlers.deps import Challenge, ChallengePurpose

ISSUER = "Helpdesk"
RECOVERY_CODES = 10
# pyotp's default: 30-second steps, 6 digits; one step either side for clock drift.
DRIFT_STEPS = 1
_PURPOSES: dict[str, ChallengePurpose] = {"v": "verify", "e": "enrol", "l": "link"}


def _key(secret: str, purpose: bytes) -> bytes:
    return hashlib.sha256(b"helpdesk second factors\0" + purpose + b"\0" + secret.encode()).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SecondFactorSecrets:
    def __init__(self, signing_secret: str) -> None:
        self._box = nacl.secret.SecretBox(_key(signing_secret, b"totp seed"))
        self._code_key = _key(signing_secret, b"recovery code")
        self._challenge_key = _key(signing_secret, b"sign-in challenge")

    # ---- TOTP

    def new_totp_secret(self) -> str:
        return pyotp.random_base32()

    def otpauth_uri(self, secret: str, account: str) -> str:
        return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)

    def totp_step(self, secret: str, code: str, now: datetime) -> int | None:
        """The time step whose code `code` is (within the allowed drift), or None."""
        digits = code.replace(" ", "")
        if not digits.isdigit() or len(digits) != 6:
            return None
        totp = pyotp.TOTP(secret)
        step = totp.timecode(now)
        for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
            if hmac.compare_digest(totp.generate_otp(candidate), digits):
                return candidate
        return None

    def seal(self, value: str) -> str:
        return _b64(self._box.encrypt(value.encode()))

    def open(self, sealed: str) -> str | None:
        try:
            raw = _unb64(sealed)
            return self._box.decrypt(raw).decode()
        except (ValueError, nacl.exceptions.CryptoError):
            return None

    # ---- recovery codes

    def new_recovery_codes(self) -> list[str]:
        alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes (0/o, 1/l/i)
        codes = []
        for _ in range(RECOVERY_CODES):
            raw = "".join(secrets.choice(alphabet) for _ in range(10))
            codes.append(f"{raw[:5]}-{raw[5:]}")
        return codes

    def hash_recovery_code(self, code: str) -> str:
        normal = code.replace(" ", "").replace("-", "").lower()
        return hmac.new(self._code_key, normal.encode(), hashlib.sha256).hexdigest()

    # ---- sign-in challenges

    def challenge(self, value: Challenge) -> str:
        purpose = next(k for k, v in _PURPOSES.items() if v == value.purpose)
        expires = int(value.expires_at.timestamp())
        body = f"{value.user_id.hex}.{purpose}.{value.credentials_version}.{expires}"
        if value.external:  # a link challenge: the organisation's identity, signed too
            body += f".{_b64(value.external.encode())}"
        return f"{body}.{self._sign(body)}"

    def open_challenge(self, raw: str, now: datetime) -> Challenge | None:
        """The challenge `raw` carries if it is genuine and unexpired, else None."""
        body, _, signature = raw.rpartition(".")
        if not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            user, purpose, version, expires, *external = body.split(".")
            value = Challenge(
                user_id=UUID(hex=user),
                purpose=_PURPOSES[purpose],
                credentials_version=int(version),
                expires_at=datetime.fromtimestamp(int(expires), UTC),
                external=_unb64(external[0]).decode() if external else "",
            )
            if len(external) > 1 or (value.purpose == "link") != bool(value.external):
                return None
        except (ValueError, KeyError):
            return None
        return value if now < value.expires_at else None

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._challenge_key, body.encode(), hashlib.sha256).digest())
