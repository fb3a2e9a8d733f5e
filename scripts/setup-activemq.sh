#!/usr/bin/env bash
# Run a project-owned Apache ActiveMQ 5.17 broker (Debian's `activemq` package) for the STOMP tests.
# Idempotent: when the broker already answers a STOMP CONNECT it only prints its status.
#
#   scripts/setup-activemq.sh          install if missing, start if not running, wait for STOMP, print status
#   scripts/setup-activemq.sh status   print status; exit 1 when STOMP does not answer
#   scripts/setup-activemq.sh stop     stop the broker this script started
#   scripts/setup-activemq.sh restart  stop, then start (needed after a config change)
#
# What runs (not the Debian system service: /etc/activemq/instances-enabled is left empty):
#   java -jar /usr/share/activemq/bin/activemq.jar start xbean:file:<dir>/conf/activemq.xml
#   with -Dactivemq.base/conf/data pointing at <dir> = ${LEDGER_TOOLS_DIR:-<repo>/.tools}/activemq
#     <dir>/conf/activemq.xml, log4j.properties    written by this script (rewritten when they differ)
#     <dir>/data/kahadb, data/scheduler            KahaDB persistence, scheduler store (redelivery delays)
#     <dir>/data/activemq.log, data/console.log    broker log, JVM stdout/stderr
#     <dir>/activemq.pid
# Broker config:
#   - one transport connector only: stomp://127.0.0.1:61614 (no OpenWire, no JMX connector,
#     no web console: the Debian package ships no Jetty console and nothing imports one)
#   - simpleAuthenticationPlugin: user guest / password guest (same as RabbitMQ's default),
#     anonymous access refused
#   - redeliveryPlugin: a STOMP NACK is a "poison ack" for ActiveMQ; with this plugin the broker
#     redelivers the message itself after 1 s, up to LEDGER_ACTIVEMQ_REDELIVERIES (default 3) times,
#     then moves it to the DLQ ActiveMQ.DLQ. LEDGER_ACTIVEMQ_REDELIVERIES=0 leaves the plugin out
#     (stock ActiveMQ): the first NACK goes straight to ActiveMQ.DLQ. See docs/brokers.md.
#   - persistence: KahaDB; note STOMP messages are persistent only when sent with `persistent:true`.
#
# Variables: LEDGER_TOOLS_DIR (default <repo>/.tools), LEDGER_ACTIVEMQ_PORT (default 61614),
#   LEDGER_ACTIVEMQ_WAIT (seconds to wait for STOMP, default 90), LEDGER_ACTIVEMQ_HEAP (default 512m),
#   LEDGER_ACTIVEMQ_REDELIVERIES (broker-side redeliveries after a NACK, default 3; 0 = no plugin).
# Needs root (or an installed package) for apt-get. Timings measured on the 2-core dev machine
# (OpenJDK 17 already installed): cold = apt-get install (73 packages) + first start ~22 s;
# warm start (package installed, broker down) 2-5 s; already running ~0.05 s.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${LEDGER_TOOLS_DIR:-$ROOT/.tools}"
BASE="$TOOLS/activemq"
CONF="$BASE/conf"
DATA="$BASE/data"
PIDFILE="$BASE/activemq.pid"
HOST=127.0.0.1
PORT="${LEDGER_ACTIVEMQ_PORT:-61614}"
WAIT_S="${LEDGER_ACTIVEMQ_WAIT:-90}"
HEAP="${LEDGER_ACTIVEMQ_HEAP:-512m}"
REDELIVERIES="${LEDGER_ACTIVEMQ_REDELIVERIES:-3}"
[[ "$REDELIVERIES" =~ ^[0-9]+$ ]] || { echo "setup-activemq: ERROR: LEDGER_ACTIVEMQ_REDELIVERIES must be a number" >&2; exit 1; }
AMQ_HOME=/usr/share/activemq
AMQ_JAR="$AMQ_HOME/bin/activemq.jar"
STOMP_USER=guest
STOMP_PASS=guest

die() {
    echo "setup-activemq: ERROR: $*" >&2
    exit 1
}
say() { echo "setup-activemq: $*"; }

# Send a STOMP 1.2 CONNECT; print the CONNECTED frame's server header and succeed, or fail.
stomp_ping() {
    local out
    out="$(
        timeout 5 bash -c '
            exec 3<>"/dev/tcp/$1/$2" || exit 1
            printf "CONNECT\naccept-version:1.2\nhost:localhost\nlogin:%s\npasscode:%s\nheart-beat:0,0\n\n\0" "$3" "$4" >&3
            IFS= read -r -d "" -t 4 frame <&3 || true
            printf "DISCONNECT\n\n\0" >&3 2>/dev/null || true
            printf "%s" "$frame"
        ' _ "$HOST" "$PORT" "$STOMP_USER" "$STOMP_PASS" 2>/dev/null
    )" || return 1
    case "$out" in
        CONNECTED*) printf '%s\n' "$out" | sed -n 's/^server://p' | head -n 1 ;;
        *) return 1 ;;
    esac
}

port_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$HOST" "$PORT" 2>/dev/null; }

# pid of the broker this script started, if it is alive and really ours
our_pid() {
    [ -f "$PIDFILE" ] || return 1
    local pid
    pid="$(cat "$PIDFILE")"
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qxF -- "-Dactivemq.base=$BASE" || return 1
    echo "$pid"
}

status_line() {
    local server pid
    server="$(stomp_ping)" || return 1
    pid="$(our_pid || echo '?')"
    say "ActiveMQ up: stomp://$HOST:$PORT (server: ${server:-unknown}; login $STOMP_USER/$STOMP_PASS; pid $pid; dir $BASE; ${SECONDS}s)"
}

install_pkg() {
    [ -r "$AMQ_JAR" ] && command -v java >/dev/null 2>&1 && return 0
    [ "$(id -u)" = 0 ] || die "Debian's activemq is not installed and this is not root; run: sudo apt-get install --no-install-recommends activemq"
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script needs Debian's 'activemq' package (5.17)"
    say "installing Debian's activemq package (apt-get) ..."
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends activemq)
    if ! "${apt[@]}" >"$TOOLS/apt-activemq.log" 2>&1; then
        say "apt-get install failed; running apt-get update and retrying"
        apt-get update -q >>"$TOOLS/apt-activemq.log" 2>&1 || true
        "${apt[@]}" >>"$TOOLS/apt-activemq.log" 2>&1 ||
            die "apt-get install activemq failed; see $TOOLS/apt-activemq.log:
$(tail -n 15 "$TOOLS/apt-activemq.log")"
    fi
    [ -r "$AMQ_JAR" ] || die "activemq installed but $AMQ_JAR is missing"
    command -v java >/dev/null 2>&1 || die "java not found after installing activemq (install default-jre-headless)"
}

# Write $2 to $1 only when it differs; return 0 when the file changed.
write_if_changed() {
    if [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; then return 1; fi
    printf '%s\n' "$2" >"$1"
}

write_config() {
    mkdir -p "$CONF" "$DATA"
    local xml log4j redelivery_xml="" changed=1
    if [ "$REDELIVERIES" -gt 0 ]; then
        redelivery_xml="$(
            cat <<EOF2
      <!-- broker-side redelivery of NACKed (poison-acked) messages: $REDELIVERIES more tries, 1 s apart, then DLQ -->
      <redeliveryPlugin fallbackToDeadLetter="true" sendToDlqIfMaxRetriesExceeded="true">
        <redeliveryPolicyMap>
          <redeliveryPolicyMap>
            <defaultEntry>
              <redeliveryPolicy maximumRedeliveries="$REDELIVERIES" initialRedeliveryDelay="1000"
                                redeliveryDelay="1000" useExponentialBackOff="false"/>
            </defaultEntry>
          </redeliveryPolicyMap>
        </redeliveryPolicyMap>
      </redeliveryPlugin>
EOF2
        )"
    fi
    xml="$(
        cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/setup-activemq.sh: edit the script, not this file. -->
<beans
  xmlns="http://www.springframework.org/schema/beans"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans.xsd
  http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">

  <!-- resolves \${activemq.data} and the other -D system properties -->
  <bean class="org.springframework.beans.factory.config.PropertyPlaceholderConfigurer"/>

  <broker xmlns="http://activemq.apache.org/schema/core"
          brokerName="ledger-test" useJmx="false" persistent="true" schedulerSupport="true"
          dataDirectory="\${activemq.data}" schedulerDirectory="\${activemq.data}/scheduler">

    <destinationPolicy>
      <policyMap>
        <policyEntries>
          <!-- one shared DLQ (ActiveMQ.DLQ), as on a default Amazon MQ broker -->
          <policyEntry queue=">" producerFlowControl="true" memoryLimit="16mb">
            <deadLetterStrategy>
              <sharedDeadLetterStrategy processExpired="true" processNonPersistent="true"/>
            </deadLetterStrategy>
          </policyEntry>
          <policyEntry topic=">" producerFlowControl="true" memoryLimit="16mb"/>
        </policyEntries>
      </policyMap>
    </destinationPolicy>

    <persistenceAdapter>
      <kahaDB directory="\${activemq.data}/kahadb"/>
    </persistenceAdapter>

    <plugins>
      <simpleAuthenticationPlugin anonymousAccessAllowed="false">
        <users>
          <authenticationUser username="$STOMP_USER" password="$STOMP_PASS" groups="users,admins"/>
        </users>
      </simpleAuthenticationPlugin>
$redelivery_xml
    </plugins>

    <systemUsage>
      <systemUsage>
        <memoryUsage><memoryUsage limit="64 mb"/></memoryUsage>
        <storeUsage><storeUsage limit="2 gb"/></storeUsage>
        <tempUsage><tempUsage limit="1 gb"/></tempUsage>
      </systemUsage>
    </systemUsage>

    <transportConnectors>
      <transportConnector name="stomp" uri="stomp://$HOST:$PORT?maximumConnections=200&amp;wireFormat.maxFrameSize=10485760"/>
    </transportConnectors>
  </broker>
</beans>
EOF
    )"
    # Debian builds ActiveMQ against log4j 1.2 (slf4j-log4j12), so this is a log4j 1.2 config.
    log4j="$(
        cat <<'EOF2'
# Generated by scripts/setup-activemq.sh
log4j.rootLogger=INFO, logfile
log4j.logger.org.springframework=WARN
log4j.logger.org.apache.xbean=WARN
log4j.appender.logfile=org.apache.log4j.RollingFileAppender
log4j.appender.logfile.file=${activemq.data}/activemq.log
log4j.appender.logfile.maxFileSize=5MB
log4j.appender.logfile.maxBackupIndex=2
log4j.appender.logfile.append=true
log4j.appender.logfile.layout=org.apache.log4j.PatternLayout
log4j.appender.logfile.layout.ConversionPattern=%d | %-5p | %m | %c | %t%n
EOF2
    )"
    write_if_changed "$CONF/activemq.xml" "$xml" && changed=0
    write_if_changed "$CONF/log4j.properties" "$log4j" && changed=0
    return $changed
}

stop_broker() {
    local pid
    if ! pid="$(our_pid)"; then
        rm -f "$PIDFILE"
        if port_open; then
            say "nothing of ours to stop, but something else listens on $HOST:$PORT (not started by this script)"
        else
            say "not running"
        fi
        return 0
    fi
    say "stopping ActiveMQ (pid $pid) ..."
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            say "still running after 30 s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.5
    done
    rm -f "$PIDFILE"
    say "stopped"
}

start_broker() {
    local java
    java="$(command -v java)"
    : >>"$DATA/console.log"
    # Same JVM flags as Debian's /usr/bin/activemq for Java > 8, with a small heap.
    setsid nohup "$java" -Xms64m "-Xmx$HEAP" \
        -Dorg.apache.activemq.UseDedicatedTaskRunner=false \
        -Djava.awt.headless=true \
        --add-reads=java.xml=java.logging \
        --add-opens java.base/java.security=ALL-UNNAMED \
        --add-opens java.base/java.net=ALL-UNNAMED \
        --add-opens java.base/java.lang=ALL-UNNAMED \
        --add-opens java.base/java.util=ALL-UNNAMED \
        --add-opens java.naming/javax.naming.spi=ALL-UNNAMED \
        --add-opens java.rmi/sun.rmi.transport.tcp=ALL-UNNAMED \
        --add-opens java.base/java.util.concurrent=ALL-UNNAMED \
        --add-opens java.base/java.util.concurrent.atomic=ALL-UNNAMED \
        "-Dlog4j.configuration=file:$CONF/log4j.properties" \
        "-Dactivemq.classpath=$CONF" \
        "-Dactivemq.home=$AMQ_HOME" \
        "-Dactivemq.base=$BASE" \
        "-Dactivemq.conf=$CONF" \
        "-Dactivemq.data=$DATA" \
        -jar "$AMQ_JAR" start "xbean:file:$CONF/activemq.xml" \
        >>"$DATA/console.log" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    say "started ActiveMQ (pid $!), waiting up to ${WAIT_S}s for STOMP on $HOST:$PORT ..."
    local deadline=$((SECONDS + WAIT_S)) pid=$!
    until stomp_ping >/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$PIDFILE"
            die "the broker exited during start-up. Last lines of $DATA/console.log and activemq.log:
$(tail -n 20 "$DATA/console.log" 2>/dev/null)
$(tail -n 20 "$DATA/activemq.log" 2>/dev/null)"
        fi
        if ((SECONDS >= deadline)); then
            die "no STOMP CONNECTED from $HOST:$PORT after ${WAIT_S}s (broker pid $pid still running;
  stop it with '$0 stop'). Last lines of $DATA/activemq.log:
$(tail -n 20 "$DATA/activemq.log" 2>/dev/null)"
        fi
        sleep 1
    done
}

ensure_running() {
    # Fast path: already up.
    if status_line 2>/dev/null; then
        if [ -d "$CONF" ] && write_config; then
            say "WARNING: the broker config changed; run '$0 restart' to apply it"
        fi
        return 0
    fi
    mkdir -p "$TOOLS"
    install_pkg
    write_config || true
    local pid
    if pid="$(our_pid)"; then
        say "broker pid $pid is running but STOMP does not answer yet; waiting"
        local deadline=$((SECONDS + WAIT_S))
        until stomp_ping >/dev/null; do
            ((SECONDS < deadline)) || die "broker pid $pid gives no STOMP CONNECTED on $HOST:$PORT after ${WAIT_S}s; see $DATA/activemq.log"
            sleep 1
        done
    else
        rm -f "$PIDFILE"
        port_open && die "$HOST:$PORT is taken by another process that does not answer STOMP as $STOMP_USER/$STOMP_PASS
  ($(ss -ltnp "sport = :$PORT" 2>/dev/null | tail -n +2 | head -n 1)); set LEDGER_ACTIVEMQ_PORT or stop it"
        start_broker
    fi
    status_line
}

case "${1:-start}" in
    start | up) ensure_running ;;
    stop | down) stop_broker ;;
    restart)
        stop_broker
        ensure_running
        ;;
    status) status_line || {
        say "ActiveMQ is not answering STOMP on $HOST:$PORT"
        exit 1
    } ;;
    -h | --help | help) sed -n '2,9p' "$0" ;;
    *) die "unknown argument '$1' (use: start | stop | restart | status)" ;;
esac
