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
