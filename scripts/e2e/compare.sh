# shellcheck shell=bash
# What the engine e2e scripts (podman.sh, docker.sh) share to compare a
# runtime with runc: recording observations and expectations of one
# scenario pass, and quoting them for the report. Source it; it uses the
# caller's OBS (observations), PROB (failed expectations) and `normalize`.

# obs KEY VALUE: record an observation.
obs() {
    local key=$1 value=$2
    if [ -z "$value" ]; then
        printf '%s: (empty)\n' "$key"
    elif [ "$(printf '%s\n' "$value" | wc -l)" -eq 1 ]; then
        printf '%s: %s\n' "$key" "$value"
    else
        printf '%s:\n' "$key"
        printf '%s\n' "$value" | sed 's/^/  | /'
    fi | normalize >>"$OBS"
}

# check WHAT GOT WANT: an expectation; GOT must equal WANT.
check() {
    [ "$2" = "$3" ] && return 0
    printf '%s: got %s, want %s\n' "$1" "$(quote "$2")" "$(quote "$3")" >>"$PROB"
}

# check_match WHAT GOT PATTERN: GOT must match the shell glob PATTERN.
check_match() {
    # shellcheck disable=SC2053 # a glob on purpose
    [[ $2 == $3 ]] && return 0
    printf '%s: got %s, want %s\n' "$1" "$(quote "$2")" "$(quote "$3")" >>"$PROB"
}

quote() {
    local s=${1//$'\n'/\\n}
    [ "${#s}" -gt 200 ] && s="${s:0:200}..."
    printf "'%s'" "$s"
}

# quote_args ARGS...: a command line to paste into a shell.
quote_args() {
    local a out=""
    for a in "$@"; do
        case $a in
        *"'"* | *$'\n'*) out+=" $(printf '%q' "$a")" ;;
        *[!A-Za-z0-9_./:=,+@%^-]* | "") out+=" '$a'" ;;
        *) out+=" $a" ;;
        esac
    done
    printf '%s' "${out# }"
}

# step2 KEY ARGS...: like step, and records stderr too (KEY.err).
step2() {
    local key=$1
    shift
    capture "$@"
    obs "$key" "$OUT"
    obs "$key.err" "$ERR"
    obs "$key.rc" "$RC"
}

# details FILE PREFIX MAX: the first MAX lines of FILE, indented.
details() {
    [ -s "$1" ] || return 0
    printf '    %s\n' "$2"
    head -n "$3" "$1" | sed 's/^/      /'
    local n
    n=$(wc -l <"$1")
    [ "$n" -gt "$3" ] && printf '      ... (%d more lines)\n' "$((n - $3))"
}
