#!/usr/bin/env bash
# A real (Let's Encrypt) certificate for the single instance, replacing the self-signed
# stand-in its first boot made. Run once, as root, after DNS for DOMAIN points at the
# instance's Elastic IP (docs/deploy.md, "A certificate for the single instance"):
#
#   DOMAIN=api.snapboard.example.com EMAIL=ops@snapboard.example.com \
#     bash /opt/snapboard/current/ec2/certificate.sh
#
# certbot answers the HTTP-01 challenge from the webroot nginx serves on port 80
# (/.well-known/acme-challenge/, never redirected), and renews from a systemd timer.
# After every issue or renewal, `certificate.sh install` (certbot's deploy hook) copies
# the pair to /etc/snapboard/tls, where nginx reads it, and reloads nginx. The host
# commands are variables so tests can stand in for certbot and nginx.
set -euo pipefail
umask 022

CERTBOT_VERSION=${CERTBOT_VERSION:-5.8.0}
CERTBOT_VENV=${CERTBOT_VENV:-/opt/certbot}
CERTBOT=${CERTBOT:-$CERTBOT_VENV/bin/certbot}
WEBROOT=${WEBROOT:-/var/lib/snapboard/acme}
LIVE_DIR=${LIVE_DIR:-/etc/letsencrypt/live}
TLS_DIR=${TLS_DIR:-/etc/snapboard/tls}
RELOAD_CMD=${RELOAD_CMD:-'nginx -t -q && systemctl reload nginx'}
UNIT_DIR=${UNIT_DIR:-/etc/systemd/system}
SYSTEMCTL=${SYSTEMCTL:-systemctl}
# Through `current`, not this release's own directory: old releases are deleted, and
# certbot keeps the hook for every later renewal.
HOOK="bash ${HOOK_SCRIPT:-/opt/snapboard/current/ec2/certificate.sh}"

install_pair() {
  # certbot sets RENEWED_LINEAGE to /etc/letsencrypt/live/DOMAIN for its deploy hooks.
  local lineage=${RENEWED_LINEAGE:-$LIVE_DIR/${DOMAIN:?DOMAIN is required}}
  install -m 0640 -g "${TLS_GROUP:-nginx}" "$lineage/fullchain.pem" "$TLS_DIR/fullchain.pem.next"
  install -m 0640 -g "${TLS_GROUP:-nginx}" "$lineage/privkey.pem" "$TLS_DIR/privkey.pem.next"
  mv -f "$TLS_DIR/fullchain.pem.next" "$TLS_DIR/fullchain.pem"
  mv -f "$TLS_DIR/privkey.pem.next" "$TLS_DIR/privkey.pem"
  eval "$RELOAD_CMD"
}

if [ "${1:-}" = install ]; then
  install_pair
  exit 0
fi

: "${DOMAIN:?DOMAIN (the API host name, pointing at this instance) is required}"
: "${EMAIL:?EMAIL (where the certificate authority sends expiry notices) is required}"

if [ ! -x "$CERTBOT" ]; then
  # Amazon Linux 2023 packages no certbot; EFF's instructions for it install from PyPI.
  python3 -m venv "$CERTBOT_VENV"
  "$CERTBOT_VENV/bin/pip" install --quiet --no-input "certbot==$CERTBOT_VERSION"
fi
install -d -m 0755 "$WEBROOT"
"$CERTBOT" certonly --webroot --webroot-path "$WEBROOT" --domain "$DOMAIN" \
  --email "$EMAIL" --agree-tos --non-interactive --keep-until-expiring \
  --deploy-hook "$HOOK install"
# --keep-until-expiring runs no hook when the certificate already existed.
DOMAIN=$DOMAIN install_pair

cat >"$UNIT_DIR/snapboard-certbot.service" <<UNIT
[Unit]
Description=Renew Snapboard's Let's Encrypt certificate

[Service]
Type=oneshot
ExecStart=$CERTBOT renew --quiet --deploy-hook "$HOOK install"
UNIT
cat >"$UNIT_DIR/snapboard-certbot.timer" <<'UNIT'
[Unit]
Description=Twice a day, renew Snapboard's certificate when it is due

[Timer]
OnCalendar=*-*-* 03,15:17:00
RandomizedDelaySec=1h
Persistent=true

[Install]
WantedBy=timers.target
UNIT
$SYSTEMCTL daemon-reload
$SYSTEMCTL enable --now snapboard-certbot.timer
echo "certificate for $DOMAIN installed; renewals by snapboard-certbot.timer" >&2
