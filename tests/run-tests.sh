#!/bin/sh
# tests/run-tests.sh: run nbdcli's tests.  POSIX sh.
#
#   sh tests/run-tests.sh [NAME...]     (make check TESTS="NAME...")
#
# Runs every tests/test-*.sh (with bash) and tests/test-*.exp (with
# expect -f), or only those NAMEd (foo, test-foo, test-foo.sh or
# tests/test-foo.sh), from the top of the tree, each under a timeout,
# output in tests/NAME.log (NAME without .sh/.exp, as automake does, so
# test-foo.sh and test-foo.exp must not both exist).
#
# Exit status of a test (automake's convention): 0 PASS, 77 SKIP,
# anything else FAIL (124: timed out).  With CI=true a SKIP is a failure.
# JOBS=N runs N tests at a time (default 1); TEST_TIMEOUT (default 300).

top=$(cd "$(dirname "$0")/.." && pwd) || exit 99
cd "$top" || exit 99

NBDCLI=$top/nbdcli
FLAWED=$top/tests/flawed-server
PATH=$top:$PATH
srcdir=$top/tests
export NBDCLI FLAWED PATH srcdir

jobs=${JOBS:-1}
case $jobs in ''|*[!0-9]*|0) jobs=1 ;; esac
tmo=${TEST_TIMEOUT:-300}
if command -v timeout >/dev/null 2>&1; then
	timeout_cmd="timeout -k 10 $tmo"
else
	timeout_cmd=
fi

# The tests to run, in order.
tests=
for t in tests/test-*.sh tests/test-*.exp; do
	[ -f "$t" ] || continue
	if [ $# -gt 0 ]; then
		b=${t#tests/}
		n=${b%.*}
		want=no
		for a do
			case $a in "$t"|"$b"|"$n"|"${n#test-}") want=yes ;; esac
		done
		[ $want = yes ] || continue
	fi
	tests="$tests $t"
done

pass=0 fail=0 skip=0
for a do
	found=no
	for t in $tests; do
		b=${t#tests/}
		n=${b%.*}
		case $a in "$t"|"$b"|"$n"|"${n#test-}") found=yes ;; esac
	done
	if [ $found = no ]; then
		echo "FAIL: $a (no such test)"
		fail=$((fail + 1))
	fi
done

# The exit statuses go to a directory of their own, outside the source
# tree: a test that copies the tree (test-build) must never see them.
rcdir=$(mktemp -d "${TMPDIR:-/tmp}/nbdcli-rc.XXXXXXXX") || exit 99
trap 'rm -rf "$rcdir"' EXIT

# run_one TEST: run it, status in $rcdir/NAME, output in tests/NAME.log.
run_one () {
	b=${1#tests/}
	n=${b%.*}
	log=tests/$n.log
	case $1 in
	*.exp)
		if command -v expect >/dev/null 2>&1; then
			# shellcheck disable=SC2086 # $timeout_cmd is split on purpose
			$timeout_cmd expect -f "$1" >"$log" 2>&1 </dev/null
			rc=$?
		else
			echo "SKIP: expect is not installed" >"$log"
			rc=77
		fi ;;
	*)
		# shellcheck disable=SC2086
		$timeout_cmd bash "$1" >"$log" 2>&1 </dev/null
		rc=$? ;;
	esac
	echo $rc >"$rcdir/$n"
}

# report TEST: print the verdict from $rcdir/NAME and count it.
report () {
	b=${1#tests/}
	n=${b%.*}
	log=tests/$n.log
	rc=$(cat "$rcdir/$n" 2>/dev/null || echo 99)
	rm -f "$rcdir/$n"
	case $rc in
	0)	echo "PASS: $n"
		pass=$((pass + 1)) ;;
	77)	# The reason: the last line of the log that is not "+ ..." (set -x).
		reason=$(grep -v '^+' "$log" | tail -n 1)
		if [ "${CI-}" = true ]; then
			echo "FAIL: $n (skipped under CI: $reason)"
			fail=$((fail + 1))
		else
			echo "SKIP: $n ($reason)"
			skip=$((skip + 1))
		fi ;;
	*)	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
			echo "FAIL: $n (timed out after ${tmo}s; exit status $rc)"
		else
			echo "FAIL: $n (exit status $rc)"
		fi
		echo "---- last 30 lines of $log:"
		tail -n 30 "$log"
		echo "----"
		fail=$((fail + 1)) ;;
	esac
}

batch=
count=0
for t in $tests; do
	if [ "$jobs" -le 1 ]; then
		run_one "$t"
		report "$t"
		continue
	fi
	run_one "$t" &
	batch="$batch $t"
	count=$((count + 1))
	if [ $count -ge "$jobs" ]; then
		wait
		for b in $batch; do report "$b"; done
		batch='' count=0
	fi
done
if [ -n "$batch" ]; then
	wait
	for b in $batch; do report "$b"; done
fi

if [ -z "$tests" ] && [ $# -eq 0 ]; then
	echo "no tests found in tests/"
	fail=$((fail + 1))
fi

echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
