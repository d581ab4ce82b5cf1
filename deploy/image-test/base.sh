#!/bin/sh
# The base image of `make image-test`, made here because no container registry is
# reachable: a Debian bookworm minbase root (debootstrap, from the mirror apt uses)
# with a CPython 3.11 new enough for the lock (>= 3.11.5; Debian's own is 3.11.2)
# copied into /usr/local, pip from its ensurepip, and the host's CA certificates
# (pip inside a build reaches the package index through them: PIP_CERT).
#
#   sh deploy/image-test/base.sh IMAGE_NAME [PYTHON_PREFIX]
#
# PYTHON_PREFIX is an installed CPython 3.11 built on Debian 12 (default: the
# sys.base_prefix of python3.11 on PATH, e.g. a pyenv build). Does nothing when
# IMAGE_NAME already exists: the image store is the cache (IMAGE_TEST_COLD=1 in the
# runner removes it).
set -eu
IMAGE="$1"
PY_PREFIX="${2:-$(python3.11 -c 'import sys; print(sys.base_prefix)')}"

if podman image exists "$IMAGE"; then
    echo "base image $IMAGE: cached"
    exit 0
fi

PY="$PY_PREFIX/bin/python3.11"
[ -x "$PY" ] || { echo "base.sh: no python3.11 under $PY_PREFIX" >&2; exit 1; }
"$PY" -c 'import sys; assert sys.version_info >= (3, 11, 5), sys.version' \
    || { echo "base.sh: $PY is older than 3.11.5 (the lock needs it)" >&2; exit 1; }
PY_VERSION=$("$PY" -c 'import platform; print(platform.python_version())')

# The first deb822 URI (or sources.list line) apt uses for Debian itself.
MIRROR=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)\/\{0,1\}[[:space:]]*$/\1/p' \
            /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
if [ -z "$MIRROR" ]; then
    MIRROR=$(sed -n 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]*\)\{0,1\}\([^[:space:]]*\)[[:space:]]\{1,\}bookworm[[:space:]].*/\2/p' \
                /etc/apt/sources.list 2>/dev/null | head -n 1)
fi
[ -n "$MIRROR" ] || { echo "base.sh: cannot read the Debian mirror from /etc/apt/sources.list*" >&2; exit 1; }

WORK=$(mktemp -d /var/tmp/helpdesk-image-base.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
ROOT="$WORK/root"

echo "base image $IMAGE: debootstrap bookworm (minbase) ..."
# The shared libraries CPython's extension modules load (ssl, ctypes, sqlite3, ...)
# and ca-certificates; no compilers.
debootstrap --variant=minbase \
    --include=ca-certificates,libssl3,libffi8,libsqlite3-0,libbz2-1.0,liblzma5,libreadline8,libncursesw6,libexpat1,zlib1g,libuuid1,libgdbm6,libnsl2,libtirpc3,libcrypt1 \
    bookworm "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -n 30 "$WORK/debootstrap.log" >&2; exit 1; }

echo "base image $IMAGE: CPython $PY_VERSION from $PY_PREFIX ..."
# The interpreter and its standard library; not site-packages (pip comes from
# ensurepip below), tests, IDLE or Tk.
mkdir -p "$ROOT/usr/local/bin" "$ROOT/usr/local/lib" "$ROOT/usr/local/include"
cp -a "$PY_PREFIX/bin/python3.11" "$ROOT/usr/local/bin/"
cp -a "$PY_PREFIX"/lib/libpython3.11*.so* "$ROOT/usr/local/lib/" 2>/dev/null || true
cp -a "$PY_PREFIX/include/python3.11" "$ROOT/usr/local/include/"
tar -C "$PY_PREFIX/lib" \
    --exclude='python3.11/site-packages/*' --exclude='python3.11/test' \
    --exclude='python3.11/idlelib' --exclude='python3.11/tkinter' \
    --exclude='python3.11/turtledemo' --exclude='__pycache__' \
    -cf - python3.11 | tar -C "$ROOT/usr/local/lib" -xf -
for name in python3 python; do ln -sf python3.11 "$ROOT/usr/local/bin/$name"; done

# The host's CA certificates (the package index is reached through them).
for crt in /usr/local/share/ca-certificates/*.crt; do
    [ -e "$crt" ] && cp "$crt" "$ROOT/usr/local/share/ca-certificates/"
done
chroot "$ROOT" /bin/sh -c '
    set -e
    ldconfig
    update-ca-certificates >/dev/null
    PIP_ROOT_USER_ACTION=ignore python3.11 -m ensurepip --default-pip >/dev/null
    ln -sf pip3 /usr/local/bin/pip
    python3.11 -c "import ssl, ctypes, sqlite3, lzma, bz2, zlib, uuid; print(\"  python\", ssl.OPENSSL_VERSION)"
    apt-get clean
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /root/.cache
'

echo "base image $IMAGE: importing ..."
# The package index the host's pip uses, when one is configured (the runner passes it).
set -- --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt'
if [ -n "${PIP_INDEX_URL:-}" ]; then
    set -- "$@" --change "ENV PIP_INDEX_URL=$PIP_INDEX_URL"
fi
tar -C "$ROOT" -cf - . | podman import "$@" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change "ENV PYTHON_VERSION=$PY_VERSION" \
    --change 'CMD ["python3"]' \
    --message "helpdesk image-test base: debootstrap bookworm minbase + CPython $PY_VERSION" \
    --quiet - "$IMAGE" >/dev/null
echo "base image $IMAGE: done"
