"""The identity service's composition root: its adapters wired into its handlers.

Build the adapters, put them in `Deps`, bind the handler table to them and
serve it; keep the read models rebuildable. Tests build their own `Deps`
(fakes, a manual clock, cheap argon2) and call the same handlers.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from helpdesk.contracts import identity as contract
from helpdesk.contracts.organisation import SyncDirectory
from helpdesk.identity.adapters.access_tokens import AccessTokenIssuer
from helpdesk.identity.adapters.directory import LdapDirectory
from helpdesk.identity.adapters.export import PostgresAccountRecords
from helpdesk.identity.adapters.factors import SecondFactorSecrets
from helpdesk.identity.adapters.oidc import OidcProvider
from helpdesk.identity.adapters.passkeys import WebAuthnCeremonies
from helpdesk.identity.adapters.passwords import Argon2Passwords
from helpdesk.identity.adapters.postgres import STORE, PostgresUnitOfWork
from helpdesk.identity.adapters.projections import PROJECTIONS
from helpdesk.identity.adapters.revocations import KvRevocations
from helpdesk.identity.adapters.saml import SamlServiceProvider
from helpdesk.identity.adapters.tokens import OpaqueTokens
from helpdesk.identity.handlers import HANDLERS
from helpdesk.identity.handlers.deps import Deps, Revocations
from helpdesk.identity.handlers.erasure import apply_retention
from helpdesk.identity.handlers.organisation import sync_directory
from helpdesk.identity.settings import Settings
from helpdesk.servicekit.access_tokens import public_key_of
from helpdesk.servicekit.clock import Clock, SystemClock
from helpdesk.servicekit.handlers import bind
from helpdesk.servicekit.runtime import Service, ServiceContext
from helpdesk.servicekit.sealing import Sealer


def build_deps(
    pool: asyncpg.Pool, settings: Settings, revocations: Revocations, clock: Clock | None = None
) -> Deps:
    return Deps(
        uow=lambda: PostgresUnitOfWork(pool),
        passwords=Argon2Passwords(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        ),
        tokens=OpaqueTokens.keyed_by(settings.jwt_private_key.get_secret_value()),
        access_tokens=AccessTokenIssuer(
            settings.jwt_private_key.get_secret_value(),
            timedelta(minutes=settings.access_token_minutes),
        ),
        clock=clock or SystemClock(),
        settings=settings,
        revocations=revocations,
        seal=Sealer(settings.notifier_seal_public_key).seal,
        factors=SecondFactorSecrets(settings.jwt_private_key.get_secret_value()),
        directory=LdapDirectory(settings) if settings.directory_configured else None,
        oidc=OidcProvider(settings) if settings.oidc_configured else None,
        saml=SamlServiceProvider(settings) if settings.saml_configured else None,
        passkeys=WebAuthnCeremonies(settings),
        records=PostgresAccountRecords(pool),
    )


def build(ctx: ServiceContext[Settings]) -> None:
    ctx.projections.extend(PROJECTIONS)
    ctx.store = STORE  # rebuilds replay with identity's own event models
    settings = ctx.settings
    revocations = KvRevocations(
        ctx.js, timedelta(minutes=settings.access_token_minutes), settings.nats_stream_replicas
    )
    # Declared at start, not at the first logout: until the bucket exists, the
    # gateway looks for it on every request (one JetStream API call each).
    ctx.at_start(revocations.bucket)
    deps = build_deps(ctx.pool, settings, revocations)
    ctx.serve(bind(deps, HANDLERS))
    if deps.directory is not None and settings.ldap_sync_minutes > 0:
        # The periodic directory sync (docs/sso.md); `helpdesk directory-sync` runs one
        # now. Every replica runs it: a second pass finds nothing left to change.
        ctx.periodically(
            "directory-sync",
            lambda: sync_directory(SyncDirectory(), deps),
            settings.ldap_sync_minutes * 60,
        )
    # Retention (docs/privacy.md): every replica runs it; a second pass finds nothing due.
    ctx.periodically(
        "retention", lambda: apply_retention(deps), settings.retention_interval_seconds
    )


SERVICE = Service(
    name=contract.SERVICE,
    settings=Settings,
    build=build,
    migrations="helpdesk.identity.migrations",
    publishes_events=True,
    actor_key=lambda settings: public_key_of(settings.jwt_private_key.get_secret_value()),
    # Identity knows every person and erases them: the keystore is its (docs/privacy.md).
    owns_keystore=True,
)
