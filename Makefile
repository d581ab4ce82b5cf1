# The two commands a newcomer needs: `make run` and `make test`.
# Everything else is a step they depend on.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKAGES := contracts libs/servicekit services/identity services/tickets \
            services/notifier services/mailgate services/gateway deploy/local cli
PYPROJECTS := $(addsuffix /pyproject.toml,$(PACKAGES))
LOCK := requirements/lock.txt
# The lock is resolved for the interpreter the Makefile uses (3.11; soupsieve needs >= 3.11.5).
LOCK_TARGET := --python-version 3.11.5 --python-platform linux
LOCAL_DISTS := helpdesk-contracts helpdesk-servicekit helpdesk-identity helpdesk-tickets \
               helpdesk-notifier helpdesk-mailgate helpdesk-gateway helpdesk-devstack helpdesk-cli

.PHONY: install lock ldap saml samba oidc browser kubectl imap run test test-fast lint schemas asyncapi bench bench-scale chaos deploy-check image-test clean

install: $(STAMP)

# Exactly the lock: a new venv (--clear) each time the lock changes, every distribution
# pinned with its hashes, so `pip freeze` equals the lock (tests/deploy/test_lock.py).
$(STAMP): $(LOCK) $(PYPROJECTS) | ldap
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation \
		$(addprefix -e ,$(PACKAGES))
	touch $(STAMP)

# Re-resolve requirements/dev.in and every pyproject.toml into the lock on purpose (needs
# the package index), reinstall from it, and derive the image's lock from it.
lock: install
	$(BIN)/uv pip compile --quiet --generate-hashes $(LOCK_TARGET) \
		--custom-compile-command "make lock" $(addprefix --no-emit-package ,$(LOCAL_DISTS)) \
		requirements/dev.in requirements/local.in -o $(LOCK)
	$(MAKE) install
	$(BIN)/python deploy/docker/lock.py

run: install
	$(BIN)/python -m helpdesk.devstack

# Debian's OpenLDAP and SASL headers and gcc, which python-ldap (no wheel) is built
# with at install, and the slapd + ldap-utils of the LDAP tests (docs/sso.md).
ldap:
	sh deploy/local/install-debian.sh "python-ldap and the LDAP tests" \
		libldap2-dev libsasl2-dev gcc slapd ldap-utils

# Debian's SimpleSAMLphp and PHP, the SAML identity provider of the SSO tests, and
# xmlsec1, which pysaml2 checks signatures with (the tests skip, saying why, without).
saml:
	sh deploy/local/install-debian.sh --no-recommends "SAML and its tests" \
		xmlsec1 simplesamlphp php-cli php-xml php-mbstring

# Debian's Samba as an Active Directory domain controller, the AD of the LDAP tests
# (root only: it binds port 636; the tests skip, saying why, without it).
samba:
	sh deploy/local/install-debian.sh --no-recommends "the Active Directory tests" \
		samba samba-ad-dc samba-ad-provision samba-dsdb-modules winbind

# Node and npm for the OpenID Connect tests' provider (npm oidc-provider, installed
# by the tests into var/test-cache): Debian's unless a Node is already installed
# (docs/sso.md; the tests skip, saying why, without it).
oidc:
	@command -v node >/dev/null && command -v npm >/dev/null \
		|| sh deploy/local/install-debian.sh "the OpenID Connect tests" nodejs npm

# Debian's Chromium for the Playwright browser tests (they skip, saying why, without it).
browser:
	sh deploy/local/install-debian.sh "the browser tests" chromium

# Debian's dovecot-imapd, the real IMAP server of the mailgate's polling tests
# (they skip, saying why, without it).
imap:
	sh deploy/local/install-debian.sh "the IMAP polling tests" dovecot-imapd

# Debian's kubectl, for `kubectl kustomize` in the deploy tests.
kubectl:
	sh deploy/k8s/install-kubectl.sh

# Both cores, each pytest-xdist worker with its own servers and system; a test
# file stays on one worker (its module fixtures start once).
test: install browser kubectl imap saml samba oidc
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --dist loadfile

test-fast: install
	$(BIN)/pytest -n 2 -m "not e2e and not browser and not faults and not deploy"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

asyncapi: install
	$(BIN)/python -m helpdesk.servicekit.asyncapi docs/asyncapi

schemas: install
	$(BIN)/python -m helpdesk.contracts.schemas export contracts/schemas

# Figures, not assertions: printed and written to var/bench/ (or OUT=path).
# docs/performance.md is updated by hand from a run.
bench: install
	$(BIN)/python -m tests.bench $(OUT)

# The request paths on an empty store and on >= 1,000,000 seeded events, in one
# run (~15-20 minutes on 2 cores; BENCH_SCALE_TICKETS=20000 for a quick look).
bench-scale: install
	$(BIN)/python -m tests.bench_scale $(OUT)

# Fault injection, long form: 1,200 tickets while every service, NATS and
# PostgreSQL are killed and the mail server stopped, three rounds; prints the
# audit and fails on any loss or duplicate (docs/operations.md). ~10 minutes.
chaos: install
	$(BIN)/python -m tests.faults.chaos

# deploy/: render every overlay, validate all manifests offline (Kubernetes and CRD
# schemas), lint the Dockerfile and YAML, check every setting the services read is
# provided, and run the 3-node NATS cluster and concurrent-setup tests. Part of `make test`.
deploy-check: install kubectl
	$(BIN)/pytest -m deploy tests/deploy

# A real image build (deploy/docker/Dockerfile, podman --format docker) and a real compose
# run of it on this kind of machine: Debian's podman, buildah and podman-compose (installed
# when missing), a locally made base (debootstrap + CPython 3.11) and locally built
# stand-ins for NATS, PostgreSQL and mailpit; every container healthy, then register,
# activate, log in and a critical ticket through the containers; down -v. Not part of
# `make test`. ~5 minutes cold (IMAGE_TEST_COLD=1 removes its images first), ~2 warm.
image-test: install
	$(BIN)/python -m tests.image_stack

clean:
	rm -rf $(VENV) var
