# shellcheck shell=bash disable=SC2034 # sets variables for the scripts that source it
# The Python virtualenv for Strata's Python test suites and for Go tests that drive real Python clients
# (mlflow, psycopg). Sourced by scripts/test; defines functions only.
#
#   venv_ensure ROOT   creates or updates the venv from ROOT/requirements-test.txt and sets VENV_PYTHON.
#
# The venv lives at ${STRATA_VENV:-$HOME/.cache/strata/venv}, outside the work tree, so every clone shares it.
# pip runs only when the requirements file or the Python version changed since the last successful install
# (a stamp file in the venv records both). A lock serialises concurrent runs on one machine.

venv_dir() {
	local home=${HOME:-}
	[[ -n "$home" ]] || home=$(getent passwd "$(id -u)" | cut -d: -f6)
	printf '%s\n' "${STRATA_VENV:-$home/.cache/strata/venv}"
}

# venv_base_python prints the interpreter to build the venv from: STRATA_BASE_PYTHON, else python3 on PATH.
venv_base_python() {
	local py=${STRATA_BASE_PYTHON:-python3}
	if ! command -v "$py" >/dev/null 2>&1; then
		printf 'error: %s not found; install Python 3.10+ (Debian: sudo apt-get install python3 python3-venv)\n' "$py" >&2
		return 1
	fi
	if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
		printf 'error: %s is %s; the Python test suites need Python 3.10 or newer\n' "$py" "$("$py" -V 2>&1)" >&2
		return 1
	fi
	command -v "$py"
}

venv_ensure() {
	local root=$1 dir req base want have
	req="$root/requirements-test.txt"
	dir=$(venv_dir)
	base=$(venv_base_python) || return 1
	want="$(sha256sum <"$req" | cut -d' ' -f1) $("$base" -c 'import sys; print(sys.version.split()[0])')"
	mkdir -p "$(dirname "$dir")"
	(
		# One installer at a time per venv; others wait, then find the stamp current.
		if command -v flock >/dev/null 2>&1; then
			exec 9>"$dir.lock"
			flock 9
		fi
		have=$(cat "$dir/.strata-stamp" 2>/dev/null) || have=""
		if [[ "$have" == "$want" ]] && "$dir/bin/python" -c '' 2>/dev/null; then
			exit 0
		fi
		if ! "$dir/bin/python" -c '' 2>/dev/null || [[ "${have#* }" != "${want#* }" ]]; then
			echo "creating Python venv $dir ($("$base" -V 2>&1))" >&2
			rm -rf "$dir"
			if ! "$base" -m venv "$dir" >&2; then
				echo "error: '$base -m venv' failed; on Debian install python3-venv" >&2
				exit 1
			fi
		fi
		echo "installing $req into $dir" >&2
		rm -f "$dir/.strata-stamp"
		PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
			"$dir/bin/python" -m pip install --quiet --retries 5 --timeout 60 -r "$req" >&2 || exit 1
		printf '%s\n' "$want" >"$dir/.strata-stamp"
	) || return 1
	VENV_PYTHON="$dir/bin/python"
}
