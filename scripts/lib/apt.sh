# shellcheck shell=bash
# Debian packages for the scripts: every program a script needs that a fresh Debian 12
# machine lacks is installed here, by apt_ensure, and nowhere else. The check in
# internal/scriptcheck reads the apt_ensure calls to know which programs the scripts
# install, and fails when a script calls a program that is neither on a fresh machine
# nor installed this way. Source it; it defines functions only.

# apt_ensure CMD[:PACKAGE]...: make every CMD available, installing PACKAGE (default:
# CMD) from Debian for those that are missing. Needs root only when something is
# missing. No package's system service is started (policy-rc.d answers 101), and the
# apt lists are refreshed only when an install fails without them. Returns 3 (an
# environment error) when a program is still missing afterwards.
apt_ensure() {
  local spec cmd pkg missing=() pkgs=()
  for spec in "$@"; do
    cmd=${spec%%:*}
    pkg=${spec#*:}
    type -P "$cmd" >/dev/null && continue
    missing+=("$cmd")
    [[ " ${pkgs[*]} " == *" $pkg "* ]] || pkgs+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  if [[ $(id -u) != 0 ]]; then
    echo "apt: ${missing[*]} missing; run as root, or install them: apt-get install ${pkgs[*]}" >&2
    return 3
  fi
  echo "apt: installing ${pkgs[*]} from Debian (for ${missing[*]})" >&2
  local policy=/usr/sbin/policy-rc.d ours=0 rc=0 before saved
  saved=$(trap -p EXIT)
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && ours=1
    # Removed even when apt is interrupted (bash runs EXIT on a fatal signal too).
    # shellcheck disable=SC2064 # the path is fixed now
    trap "rm -f '$policy'; ${saved:+eval $(printf %q "$saved")}" EXIT
  fi
  before=$(_enabled_units)
  _apt_install "${pkgs[@]}" 2>/dev/null || { apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null && _apt_install "${pkgs[@]}"; } || rc=$?
  if ((ours)); then
    rm -f "$policy"
    eval "${saved:-trap - EXIT}" # the caller's own EXIT trap, as it was
  fi
  # Nor at the next boot: a package's service (docker-registry listens on every
  # interface) stays off; the scripts start their own private instances.
  local unit
  for unit in $(comm -13 <(printf '%s\n' "$before") <(_enabled_units)); do
    systemctl disable --now "$unit" >/dev/null 2>&1 || true
  done
  if ((rc)); then
    echo "apt: apt-get install ${pkgs[*]} failed (exit $rc); check /etc/apt/sources.list* and run again" >&2
    return 3
  fi
  for cmd in "${missing[@]}"; do
    type -P "$cmd" >/dev/null || { echo "apt: installed ${pkgs[*]}, but $cmd is still not on PATH" >&2; return 3; }
  done
}

# _enabled_units lists the enabled systemd services, sorted (nothing without systemd).
_enabled_units() {
  [[ -d /run/systemd/system ]] || return 0
  systemctl list-unit-files --type=service --state=enabled --no-legend 2>/dev/null | awk '{print $1}' | sort
}

_apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
}
