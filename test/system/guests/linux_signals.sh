# Signals in pv-linux-shim (scenario linux-signals): each line's output is checked exactly.
echo start
trap 'echo got usr1' USR1
kill -USR1 $$
echo after usr1
sleep 10 &
kill $!
wait $!
echo "killed sleep: $?"
yes | head -n 2
sh -c 'kill -TERM $$; echo not here'
echo "self term: $?"
sh -c 'trap "echo child int" INT; kill -INT $$; echo child goes on'
( trap 'echo sub hup; exit 4' HUP; sh -c 'kill -HUP $PPID'; sleep 1; echo not reached )
echo "sub: $?"
sleep 3 &
p=$!
kill -STOP $p
kill -CONT $p
kill $p
wait $p
echo "stopped, continued, killed: $?"
sh -c 'kill -9 $$'
echo "kill -9: $?"
trap 'echo chld' CHLD
/bin/true
trap - CHLD
kill -0 $$ && echo "kill -0: $?"
kill -9 99
echo "no such: $?"
kill -s BOGUS $$
echo "bad signal: $?"
i=0
trap 'i=$((i+1))' USR2
for n in 1 2 3 4 5 6 7 8 9 10; do kill -USR2 $$; done
echo "usr2 handled $i times"
timeout 1 sleep 5
echo "timeout: $?"
echo end
