# Shared by the benchmarks that run build/fakelog (catchup_bench.sh,
# ingest_bench.sh), sourced from the top of the tree with BENCH_NAME set
# (it names the temporary folder and prefixes messages). Gives:
#   $tmp        a temporary folder, removed on exit with every process
#               whose pid is added to $pids killed first;
#   fakelog NAME ARGS...   start build/fakelog on a free port, wait until
#               it listens; its port is in $tmp/NAME.port;
#   loglist_merge OUT PORT[:OPERATOR]...   one log list (OUT) of the fake
#               logs' lists, each one's operator renamed when given;
#   free_port   a free TCP port on 127.0.0.1.
tmp=$(mktemp -d "/tmp/$BENCH_NAME.XXXXXX")
pids=""
bench_cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap bench_cleanup EXIT INT TERM

[ -x build/fakelog ] && [ -x certstreamd ] || {
	echo "$BENCH_NAME: build certstreamd and build/fakelog first" >&2
	exit 1
}

fakelog() {
	name=$1
	shift
	build/fakelog --port 0 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	pids="$pids $!"
	i=0
	while ! grep -q '^listening' "$tmp/$name.out" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 1200 ] && { echo "$BENCH_NAME: fakelog $name did not start" >&2; exit 1; }
		sleep 0.1
	done
	sed -n 's/^listening 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/$name.out" >"$tmp/$name.port"
}

loglist_merge() {
	node -e '
const http = require("http");
const get = (p) => new Promise((r) => http.get(`http://127.0.0.1:${p}/loglist.json`, (s) => {
  let b = ""; s.on("data", (d) => b += d); s.on("end", () => r(JSON.parse(b))); }));
const args = process.argv.slice(2).map((a) => a.split(":"));
Promise.all(args.map(([p]) => get(p))).then((lists) => {
  lists.forEach((l, i) => { if (args[i][1]) l.operators[0].name = args[i][1]; });
  require("fs").writeFileSync(process.argv[1], JSON.stringify({ operators: lists.flatMap((l) => l.operators) }));
});' "$@"
}

free_port() {
	node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
