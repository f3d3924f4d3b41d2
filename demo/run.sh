#!/usr/bin/env bash
# Starts a ready-to-try tchat demo in one tmux session: a server on a
# temporary database and three logged-in clients (alice, bob, carol) side by
# side. Run it again to start over; `tmux kill-session -t tchat-demo` ends it.
#
# The accounts are created on the fly with --register and TCHAT_PASSWORD
# (fine for a demo; for real use type the password at the login screen).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SESSION=tchat-demo
PASSWORD='demo-password'

if ! command -v tmux >/dev/null 2>&1; then
    echo "demo: installing tmux…"
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq && apt-get install -y -qq tmux
    elif command -v sudo >/dev/null 2>&1; then
        sudo apt-get update -qq && sudo apt-get install -y -qq tmux
    fi
fi
command -v tmux >/dev/null 2>&1 || { echo "demo: tmux is required (apt-get install tmux)" >&2; exit 1; }
command -v cargo >/dev/null 2>&1 || { echo "demo: cargo is required" >&2; exit 1; }

echo "demo: building (release)…"
cargo build --release --bin tchat --bin tchat-server
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
BIN="$TARGET_DIR/release"

# Idempotent: an old demo goes away first (its panes, server included, get
# SIGHUP when the session is killed).
if tmux has-session -t "$SESSION" 2>/dev/null; then
    tmux kill-session -t "$SESSION"
fi
DEMO="${TMPDIR:-/tmp}/tchat-demo"
rm -rf "$DEMO"
mkdir -p "$DEMO"

# The server runs in the first pane; its address is read from its output.
tmux new-session -d -s "$SESSION" -x 240 -y 50 -n chat \
    "'$BIN/tchat-server' --listen 127.0.0.1:0 --db '$DEMO/demo.db' --bcrypt-cost 4 --motd 'Welcome to the tchat demo: F1 shows every key' | tee '$DEMO/server.out'"
for _ in $(seq 1 100); do
    grep -q '^listening on ' "$DEMO/server.out" 2>/dev/null && break
    sleep 0.1
done
ADDR=$(sed -n 's/^listening on //p' "$DEMO/server.out" | head -n1)
[ -n "$ADDR" ] || { echo "demo: the server did not start" >&2; exit 1; }

client() {
    echo "TCHAT_PASSWORD='$PASSWORD' exec '$BIN/tchat' --server $ADDR --user $1 --register"
}
tmux split-window -t "$SESSION:chat" -h "$(client alice)"
tmux split-window -t "$SESSION:chat" -h "$(client bob)"
tmux split-window -t "$SESSION:chat" -h "$(client carol)"
# The server pane stays small at the left; the clients share the rest.
tmux select-layout -t "$SESSION:chat" even-horizontal
tmux resize-pane -t "$SESSION:chat.0" -x 30
tmux select-pane -t "$SESSION:chat.1"

cat <<MSG
demo: server on $ADDR, clients alice, bob and carol (password '$PASSWORD').
demo: attach with   tmux attach -t $SESSION
      try: type in # public; /chat bob in alice's pane; Alt-2 then 'a' in bob's.
      F1 shows every key; Ctrl-C quits a client; tmux kill-session -t $SESSION ends it all.
MSG
