# Shell functions the scripts/with-*.sh scripts share; source it with
#   . "$(dirname "$0")/lib.sh"

# free_port prints a TCP port that is free on 127.0.0.1 now (the kernel's
# choice for a bind to port 0), or a random high port if python3 is missing.
free_port() {
	python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# wait_port PORT PID waits up to 10s for a server to accept connections on
# 127.0.0.1:PORT; it fails at once if process PID exits first.
wait_port() {
	for _ in $(seq 1 200); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
