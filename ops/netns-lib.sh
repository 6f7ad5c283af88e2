# Network-namespace topology shared by ops/netns-cluster, ops/netns-fault and ops/netns-capture. Source it after
# setting `delay` (tc netem per link, e.g. 2ms); it creates the namespaces at once and removes them
# on exit (plus anything in `pids`; STRATA_KEEP_WORK=1 keeps the work directory with its logs).
#
# Four "hosts" — strata-<id>-c (coordinator) and strata-<id>-w0..w2 (one worker each; w3 when asked) — each joined
# by a veth pair to a bridge in a fifth namespace (the switch), addresses 10.77.0.1 (coordinator)
# and 10.77.0.10-12 (workers). `ns HOST` names a host's namespace; `ip[HOST]` its address.
# Without sch_netem in the kernel the links run undelayed (said on stderr).
id="$$"; ns() { echo "strata-$id-$1"; }
# A caller may set `hosts` first (e.g. with a spare w3) before sourcing.
[ -n "${hosts+x}" ] || hosts=(c w0 w1 w2)
declare -A ip=([c]=10.77.0.1 [w0]=10.77.0.10 [w1]=10.77.0.11 [w2]=10.77.0.12 [w3]=10.77.0.13)
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for h in "${hosts[@]}" sw; do ip netns del "$(ns "$h")" 2>/dev/null || true; done
    [ -n "${STRATA_KEEP_WORK:-}" ] && echo "netns: kept $work" >&2 || rm -rf "$work"
}

# wait_serving URL PID LOG: waits until the coordinator (in the c namespace) answers URL/models.
# Fails, with LOG's tail on stderr, when its process PID exits first or 600 s pass (under the whole
# test suite, ops/netns-capture took 180 s on the 2-core dev VM, 19 s alone).
wait_serving() {
    local url=$1 pid=$2 log=$3
    for _ in $(seq 1 1200); do
        if ip netns exec "$(ns c)" curl -sf "$url/models" >/dev/null 2>&1; then return 0; fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "netns: the coordinator exited before it served; the end of $log:" >&2
            tail -n 20 "$log" >&2
            return 1
        fi
        sleep 0.5
    done
    echo "netns: the coordinator did not serve $url within 600 s; the end of $log:" >&2
    tail -n 20 "$log" >&2
    return 1
}
trap cleanup EXIT

ip netns add "$(ns sw)"
ip -n "$(ns sw)" link add br0 type bridge
ip -n "$(ns sw)" link set br0 up
netem=1
for h in "${hosts[@]}"; do
    ip netns add "$(ns "$h")"
    ip -n "$(ns "$h")" link set lo up
    ip link add "sv$id$h" type veth peer name "sh$id$h"
    ip link set "sv$id$h" netns "$(ns sw)"
    ip link set "sh$id$h" netns "$(ns "$h")"
    ip -n "$(ns sw)" link set "sv$id$h" master br0 up
    ip -n "$(ns "$h")" link set "sh$id$h" name eth0
    ip -n "$(ns "$h")" addr add "${ip[$h]}/24" dev eth0
    ip -n "$(ns "$h")" link set eth0 up
    if [ "$netem" = 1 ] && ! ip netns exec "$(ns "$h")" tc qdisc add dev eth0 root netem delay "$delay" 2>/dev/null; then
        netem=0
        echo "netns-cluster: this kernel has no sch_netem; links run without added delay" >&2
    fi
done
if [ "$netem" = 1 ]; then echo "netns-cluster: tc netem delay $delay on every host link" >&2; fi

