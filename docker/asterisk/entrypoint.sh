#!/bin/sh
# Starts Asterisk with asterisk/etc, after writing in the secrets and addresses given in the
# environment (nothing secret is built into the image):
#
#   ARI_PASSWORD          password of the ARI user "ari-app" (required)
#   POSITION_PASSWORD     digest password of every operator position (required)
#   HTTP_BIND, HTTP_PORT  where ARI listens (default 127.0.0.1:8088)
#   SIP_BIND, SIP_PORT    the SIP transport (default 127.0.0.1:5060)
#   MEDIA_ADDRESS         the address RTP is bound to and announced (default 127.0.0.1)
#   RTP_START, RTP_END    the RTP port range (default 10000-20000)
#   CARRIER               address:port of each of the carrier's SBCs, separated by spaces
#                         (default 127.0.0.1:5070); the first is the trunk's contact
#   SYSTEM_NAME           this node's name, prefixed to its channels' ids (asterisk.conf's
#                         systemname): a distinct one on each node of one application
#                         (docs/two-datacentres.md); unset on a platform of one node
#   ASTERISK_ARGS         extra arguments for asterisk (e.g. -vvv)
set -eu

etc=/etc/asterisk

fail() {
    echo "asterisk-entrypoint: $*" >&2
    exit 2
}

[ -n "${ARI_PASSWORD:-}" ] || fail "ARI_PASSWORD is not set: the application could not connect"
[ -n "${POSITION_PASSWORD:-}" ] || fail "POSITION_PASSWORD is not set: no position could register"
case "$ARI_PASSWORD$POSITION_PASSWORD" in
*[!A-Za-z0-9._~+-]*) fail "passwords may use letters, digits and ._~+- only" ;;
esac

http_bind="${HTTP_BIND:-127.0.0.1}"
http_port="${HTTP_PORT:-8088}"
sip_bind="${SIP_BIND:-127.0.0.1}"
sip_port="${SIP_PORT:-5060}"
media="${MEDIA_ADDRESS:-127.0.0.1}"
rtp_start="${RTP_START:-10000}"
rtp_end="${RTP_END:-20000}"
carrier="${CARRIER:-127.0.0.1:5070}"
system_name="${SYSTEM_NAME:-}"
case "$system_name" in
*[!A-Za-z0-9_]*) fail "SYSTEM_NAME may use letters, digits and _ only" ;;
esac
matches=""
for sbc in $carrier; do
    case "$sbc" in
    *[!0-9.:]* | *:*:*) fail "CARRIER: '$sbc' is not an IPv4 address:port" ;;
    esac
    matches="${matches:+$matches\\n}match = $sbc"
done

# Each line changed is one the configuration marks as set at deployment.
sed -i "s/^password = CHANGE-ME$/password = $ARI_PASSWORD/" "$etc/ari.conf"
sed -i -e "/^\[position-auth\]/,/^\[/ s/^password = CHANGE-ME$/password = $POSITION_PASSWORD/" \
    -e "s/^bind = .*:5060$/bind = $sip_bind:$sip_port/" \
    -e "s/^media_address = .*/media_address = $media/" \
    -e "s/^match = 127.0.0.1:5070$/$matches/" \
    -e "s#^contact = sip:127.0.0.1:5070\$#contact = sip:${carrier%% *}#" \
    "$etc/pjsip.conf"
sed -i -e "s/^bindaddr = .*/bindaddr = $http_bind/" -e "s/^bindport = .*/bindport = $http_port/" \
    "$etc/http.conf"
sed -i -e "s/^rtpstart = .*/rtpstart = $rtp_start/" -e "s/^rtpend = .*/rtpend = $rtp_end/" \
    "$etc/rtp.conf"

if [ -n "$system_name" ]; then
    sed -i "s/^;systemname = .*/systemname = $system_name/" "$etc/asterisk.conf"
fi

if grep -v '^[[:space:]]*;' "$etc/ari.conf" "$etc/pjsip.conf" | grep -q 'CHANGE-ME'; then
    fail "a CHANGE-ME placeholder is left in ari.conf or pjsip.conf"
fi

# shellcheck disable=SC2086  # ASTERISK_ARGS is a list of arguments
exec /usr/sbin/asterisk -f -U asterisk -G asterisk ${ASTERISK_ARGS:-}
