#!/usr/bin/env bash
# One-off init of docker-compose.yml's three-node Kafka cluster, run by the `kafka-init` service in
# the apache/kafka image (it has bash, the JRE's keytool and the Kafka tools); idempotent, so every
# `docker compose up` may run it again. It makes, once, into SECRETS_DIR (a volume):
#
#   kafka-credentials.json   { "<principal>": "<password>" } for every principal of KAFKA_PRINCIPALS
#                            (config/kafka-access.json, checked by test/unit/compose.test.ts) and the
#                            internal _broker and _controller users, random, mode 600
#   ca.pem, ca.p12           a local CA (EC P-256): clients trust ca.pem
#   <node>.p12               each node's key and certificate (DNS:<node>, DNS:localhost, IP:127.0.0.1)
#   clients/<principal>.p12  a client certificate per principal (CN=<principal>) for the mTLS listener
#   <node>.properties        each node's configuration: SASL_SSL + SCRAM-SHA-512 for clients, the
#                            controller listener on PLAIN over TLS, mTLS, StandardAuthorizer, RF 3,
#                            min.insync.replicas=2 (the same settings as scripts/cluster.sh)
#   admin.properties         how Kafka's own tools log in as the admin principal (health checks)
#
# and formats each node's storage (DATA_ROOT/<node>) with one cluster id and the SCRAM credentials
# of every user (kafka-storage format --add-scram, KIP-900). Topics and ACLs are the next one-off
# service's (kafka-provision: scripts/kafka-admin.ts provision).
#
# Outside a container (checked this way on a machine without Docker): KEYTOOL, KAFKA_STORAGE (a
# command that runs kafka.tools.StorageTool), SECRETS_DIR and DATA_ROOT can be pointed elsewhere.
set -euo pipefail

SECRETS_DIR="${SECRETS_DIR:-/kafka-secrets}"
DATA_ROOT="${DATA_ROOT:-/data}"
NODES=(${KAFKA_NODES:-kafka-1 kafka-2 kafka-3})
# shellcheck disable=SC2206
PRINCIPALS=(${KAFKA_PRINCIPALS:?KAFKA_PRINCIPALS: the principals of config/kafka-access.json, space-separated})
ADMIN="${KAFKA_ADMIN_PRINCIPAL:-admin}"
CLUSTER_ID="${CLUSTER_ID:?CLUSTER_ID: 22 characters of base64url, e.g. from kafka-storage.sh random-uuid}"
KEYTOOL="${KEYTOOL:-keytool}"
KAFKA_STORAGE="${KAFKA_STORAGE:-/opt/kafka/bin/kafka-storage.sh}"
# The uid the Kafka and engine images run as (appuser, node: both 1000), so they can read what is made here.
OWNER="${SECRETS_OWNER:-1000:1000}"
INTERNAL=(_broker _controller)

say() { printf 'kafka-init: %s\n' "$*"; }
die() { printf 'kafka-init: %s\n' "$*" >&2; exit 1; }
umask 077
mkdir -p "$SECRETS_DIR/clients"
cd "$SECRETS_DIR"

# ---- passwords -----------------------------------------------------------------------------
# passwords.tsv (name TAB password) is the source; kafka-credentials.json is written from it.
touch passwords.tsv
new=0
for user in "${PRINCIPALS[@]}" "${INTERNAL[@]}" _keystore; do
  if ! awk -F '\t' -v u="$user" '$1 == u { found = 1 } END { exit found ? 0 : 1 }' passwords.tsv; then
    pw="$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"
    printf '%s\t%s\n' "$user" "$pw" >>passwords.tsv
    new=$((new + 1))
  fi
done
pw_of() { awk -F '\t' -v u="$1" '$1 == u { print $2; exit }' passwords.tsv; }
{
  printf '{\n'
  first=1
  for user in "${PRINCIPALS[@]}" "${INTERNAL[@]}"; do
    if ((first)); then first=0; else printf ',\n'; fi
    printf '  "%s": "%s"' "$user" "$(pw_of "$user")"
  done
  printf '\n}\n'
} >kafka-credentials.json.tmp
mv kafka-credentials.json.tmp kafka-credentials.json
say "passwords: ${#PRINCIPALS[@]} principals and ${#INTERNAL[@]} internal users in $SECRETS_DIR/kafka-credentials.json ($new new)"
KSP="$(pw_of _keystore)"

# ---- CA and certificates (keytool, PKCS12) ---------------------------------------------------
kt() { "$KEYTOOL" "$@" >/dev/null 2>keytool.err || die "keytool $1 failed: $(tail -n 1 keytool.err)"; }
if [[ ! -f ca.p12 || ! -f ca.pem ]]; then
  rm -f ca.p12 ca.pem ./*.p12 clients/*.p12
  kt -genkeypair -alias ca -keyalg EC -groupname secp256r1 -sigalg SHA256withECDSA -validity 3650 \
    -dname "CN=referral-engine compose CA,O=referral-engine" -ext bc:c=ca:true,pathlen:0 -ext ku:c=keyCertSign,cRLSign \
    -keystore ca.p12 -storetype PKCS12 -storepass "$KSP"
  kt -exportcert -rfc -alias ca -keystore ca.p12 -storepass "$KSP" -file ca.pem
  say "TLS: made a CA ($SECRETS_DIR/ca.pem)"
fi

# issue STORE ALIAS DNAME EXT...: a key pair in STORE, its certificate signed by the CA, chain imported.
issue() {
  local store="$1" alias="$2" dname="$3"
  shift 3
  [[ -f "$store" ]] && return 0
  kt -genkeypair -alias "$alias" -keyalg EC -groupname secp256r1 -sigalg SHA256withECDSA -validity 3650 -dname "$dname" \
    -keystore "$store.tmp" -storetype PKCS12 -storepass "$KSP"
  kt -certreq -alias "$alias" -keystore "$store.tmp" -storepass "$KSP" -file "$store.csr"
  kt -gencert -alias ca -keystore ca.p12 -storepass "$KSP" -infile "$store.csr" -outfile "$store.crt" -rfc -validity 3650 "$@"
  kt -importcert -noprompt -trustcacerts -alias ca -file ca.pem -keystore "$store.tmp" -storepass "$KSP"
  kt -importcert -noprompt -alias "$alias" -file "$store.crt" -keystore "$store.tmp" -storepass "$KSP"
  rm -f "$store.csr" "$store.crt"
  mv "$store.tmp" "$store"
}
for node in "${NODES[@]}"; do
  issue "$node.p12" "$node" "CN=$node,O=referral-engine" -ext "san=dns:$node,dns:localhost,ip:127.0.0.1" \
    -ext ku:c=digitalSignature -ext eku=serverAuth,clientAuth
done
for p in "${PRINCIPALS[@]}"; do
  issue "clients/$p.p12" "$p" "CN=$p" -ext ku:c=digitalSignature -ext eku=clientAuth
done
rm -f keytool.err
say "TLS: node certificates for ${NODES[*]}, client certificates for ${#PRINCIPALS[@]} principals (PKCS12, password _keystore in passwords.tsv)"

# ---- node configurations -----------------------------------------------------------------------
voters=""
for i in "${!NODES[@]}"; do voters+="${voters:+,}$((i + 1))@${NODES[$i]}:9093"; done
broker_pw="$(pw_of _broker)" controller_pw="$(pw_of _controller)"
for i in "${!NODES[@]}"; do
  node="${NODES[$i]}" id=$((i + 1))
  cat >"$node.properties" <<EOF
# Written by docker/kafka-init.sh: node $id of ${#NODES[@]} (combined broker+controller, KRaft). Mode 600: it holds passwords.
process.roles=broker,controller
node.id=$id
controller.quorum.voters=$voters
listeners=CLIENT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093,MTLS://0.0.0.0:9094,EXTERNAL://0.0.0.0:9095
advertised.listeners=CLIENT://$node:9092,MTLS://$node:9094,EXTERNAL://127.0.0.1:$((9094 + id))
controller.listener.names=CONTROLLER
inter.broker.listener.name=CLIENT
listener.security.protocol.map=CLIENT:SASL_SSL,CONTROLLER:SASL_SSL,MTLS:SSL,EXTERNAL:SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.client.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="_broker" password="$broker_pw";
listener.name.external.sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="_controller" password="$controller_pw" user__controller="$controller_pw";
ssl.keystore.type=PKCS12
ssl.keystore.location=$SECRETS_DIR/$node.p12
ssl.keystore.password=$KSP
ssl.key.password=$KSP
ssl.truststore.type=PEM
ssl.truststore.location=$SECRETS_DIR/ca.pem
ssl.endpoint.identification.algorithm=https
ssl.client.auth=none
listener.name.mtls.ssl.client.auth=required
ssl.principal.mapping.rules=RULE:^CN=([a-z0-9][a-z0-9_-]*)\$/\$1/,DEFAULT
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:$ADMIN;User:_broker;User:_controller
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
unclean.leader.election.enable=false
num.partitions=3
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
log.dirs=/var/lib/kafka/data
EOF
done
# Kafka's own tools (health checks) log in as the admin principal with this file.
cat >admin.properties <<EOF
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$ADMIN" password="$(pw_of "$ADMIN")";
ssl.truststore.type=PEM
ssl.truststore.location=$SECRETS_DIR/ca.pem
EOF
say "config: ${NODES[*]} (voters $voters), admin.properties for Kafka's tools"

# ---- storage -------------------------------------------------------------------------------------
args="$(mktemp "$SECRETS_DIR/.format.XXXXXX")"
for user in "${PRINCIPALS[@]}" _broker; do
  printf -- '--add-scram\nSCRAM-SHA-512=[name=%s,password=%s]\n' "$user" "$(pw_of "$user")" >>"$args"
done
for node in "${NODES[@]}"; do
  dir="$DATA_ROOT/$node"
  mkdir -p "$dir"
  if [[ -f "$dir/meta.properties" ]]; then say "storage: $node already formatted"; continue; fi
  sed "s#^log.dirs=.*#log.dirs=$dir#" "$node.properties" >"$args.properties"
  if ! out="$($KAFKA_STORAGE format -t "$CLUSTER_ID" -c "$args.properties" "@$args" 2>&1)"; then
    rm -f "$args" "$args.properties"
    die "storage: format of $node failed: $(printf '%s\n' "$out" | tail -n 1 | sed 's/password=[^],"[:space:]]*/password=<hidden>/g')"
  fi
  say "storage: $node formatted (cluster id $CLUSTER_ID, SCRAM-SHA-512 credentials for $((${#PRINCIPALS[@]} + 1)) users)"
done
rm -f "$args" "$args.properties"
if [[ "$(id -u)" == 0 ]]; then chown -R "$OWNER" "$SECRETS_DIR" "${NODES[@]/#/$DATA_ROOT/}"; fi
say "done"
