# shellcheck shell=bash
# shellcheck disable=SC2016 # the containers' sh -c scripts expand in the container
# The config.json of every container the in-VM suite (suite.sh) runs,
# generated on the host with jq from the default busybox config. Sourced by
# scripts/vm-test.sh, which then calls:
#
#   make_bundles BASE_CONFIG OUT_DIR
#
# Each bundle OUT_DIR/NAME/config.json runs ARGS with RESOURCES as
# linux.resources, in its own cgroup /husk-test/NAME, on the shared
# read-only rootfs /srv/rootfs. The suite copies a bundle to /tmp before
# using it. Bundle names are the container IDs the suite uses.

# bundle NAME RESOURCES_JSON JQ_FILTER ARG...
# RESOURCES_JSON "null" leaves linux.resources out; JQ_FILTER "." adds nothing.
bundle() {
    local name=$1 res=$2 filter=$3
    shift 3
    mkdir -p "$out_dir/$name"
    jq --arg name "$name" --argjson res "$res" '
        .root.path = "/srv/rootfs"
        | .process.args = $ARGS.positional
        | .linux.cgroupsPath = "/husk-test/" + $name
        | (if $res == null then . else .linux.resources = $res end)
        | '"$filter" \
        "$base" --args -- "$@" >"$out_dir/$name/config.json"
}

make_bundles() {
    local base=$1 out_dir=$2
    local mib=1048576

    bundle smoke null . sh -c 'echo hello from husk; cat /proc/self/cgroup'

    # tail buffers a "line" of /dev/zero that never ends: it grows until the
    # OOM killer takes it.
    bundle mem "{\"memory\":{\"limit\":$((32 * mib)),\"swap\":$((64 * mib))}}" . tail /dev/zero
    bundle mem-noswap "{\"memory\":{\"limit\":$((32 * mib))}}" . tail /dev/zero

    # The subshell forks sleeps until fork fails; then the shell execs a
    # sleep (no fork needed) so the cgroup stays populated to be read.
    bundle pids '{"pids":{"limit":10}}' . \
        sh -c '(for i in $(seq 50); do sleep 30 & done) 2>&1; echo forks-done; exec sleep 30'

    bundle cpu '{"cpu":{"shares":1024,"quota":10000,"period":100000,"burst":5000}}' . \
        sh -c 'timeout 2 sh -c "while :; do :; done"; exit 0'

    bundle cpuset '{"cpu":{"cpus":"0"}}' . grep Cpus_allowed_list /proc/self/status

    bundle io '{"blockIO":{"weight":500}}' . true
    bundle io-bfq '{"blockIO":{"weight":500}}' . true

    bundle hugetlb '{"hugepageLimits":[{"pageSize":"2MB","limit":4194304}]}' . true

    bundle unified '{"unified":{"memory.high":"50000000","pids.max":"7"}}' . true

    # Deny everything, allow the usual character devices, then give the
    # container a node (/dev/fuse) it is not allowed to open.
    bundle devices '{"devices":[
            {"allow":false,"access":"rwm"},
            {"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"},
            {"allow":true,"type":"c","major":1,"minor":5,"access":"rwm"},
            {"allow":true,"type":"c","major":1,"minor":7,"access":"rwm"},
            {"allow":true,"type":"c","major":1,"minor":8,"access":"rwm"},
            {"allow":true,"type":"c","major":1,"minor":9,"access":"rwm"},
            {"allow":true,"type":"c","major":5,"minor":0,"access":"rwm"},
            {"allow":true,"type":"c","major":5,"minor":1,"access":"rwm"},
            {"allow":true,"type":"c","major":5,"minor":2,"access":"rwm"},
            {"allow":true,"type":"c","major":136,"access":"rwm"}]}' \
        '.linux.devices = [{"path":"/dev/fuse","type":"c","major":10,"minor":229,"fileMode":438,"uid":0,"gid":0}]' \
        sh -c 'echo x >/dev/null && echo null-ok
               head -c1 /dev/zero >/dev/null && echo zero-ok
               ls -l /dev/fuse
               cat /dev/fuse; echo "fuse-rc=$?"'

    bundle pause null . sleep 30
    bundle update "{\"memory\":{\"limit\":$((64 * mib))}}" . sleep 60
    bundle events "{\"memory\":{\"limit\":$((64 * mib))},\"pids\":{\"limit\":100}}" . sleep 60
    bundle events-plain null . sleep 60
    bundle kall null . sh -c 'sleep 100 & sleep 100 & wait'
    bundle cgns null . sh -c 'cat /proc/self/cgroup; grep " /sys/fs/cgroup " /proc/self/mountinfo'
    # runc spec's cgroup mount plus one more: the second cgroup2 mount at the
    # same place is EBUSY, and husk binds the container's cgroup instead.
    bundle cgtwice null '.mounts += [{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}]' \
        sh -c 'grep -c " /sys/fs/cgroup " /proc/self/mountinfo; cat /sys/fs/cgroup/cgroup.procs | wc -l'
    bundle sib1 null . sleep 60
    bundle sib2 null . sleep 60
    # The VM has 2 CPUs: the kernel refuses cpuset.cpus "7" at create.
    bundle badcpuset '{"cpu":{"cpus":"7"}}' . true
}
