#!/usr/bin/env bash
# Starts a ready-to-try tchat demo in one tmux session: a server and three
# logged-in clients (alice, bob, carol) side by side.
#
# Run it again at any time: what is still running is left alone, and any
# pane whose program ended (Ctrl-C in a client, a crashed or stopped
# server) is started again, on the same port and database. Panes stay open
# after their program ends, saying how to restart it.
# `tmux kill-session -t tchat-demo` ends it all; `rm -rf` the demo
# directory (printed below) to start from an empty database.
#
# The accounts are created on the fly with --register and TCHAT_PASSWORD
# (fine for a demo; for real use type the password at the login screen).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SESSION=tchat-demo
PASSWORD='demo-password'
USERS=(alice bob carol)

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

DEMO="${TMPDIR:-/tmp}/tchat-demo"
mkdir -p "$DEMO"
chmod 700 "$DEMO"

port_is_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The port is chosen once and kept, so a restarted server comes back where
# the clients (and their reconnect loops) look for it.
if [ -s "$DEMO/port" ]; then
    PORT=$(cat "$DEMO/port")
else
    PORT=
    for p in $(seq 7700 7799); do
        if port_is_free "$p"; then PORT=$p; break; fi
    done
    [ -n "$PORT" ] || { echo "demo: no free port in 7700-7799" >&2; exit 1; }
    echo "$PORT" > "$DEMO/port"
fi
ADDR="127.0.0.1:$PORT"

# What each pane runs; when the program ends the pane stays, saying how to
# bring it back.
pane_command() {
    local what="$1" cmd
    if [ "$what" = server ]; then
        cmd="'$BIN/tchat-server' --listen $ADDR --db '$DEMO/demo.db' --bcrypt-cost 4 --motd 'Welcome to the tchat demo: F1 shows every key'"
    else
        cmd="TCHAT_PASSWORD='$PASSWORD' '$BIN/tchat' --server $ADDR --user $what --register"
    fi
    echo "$cmd; echo; echo '[$what has stopped: run demo/run.sh again to restart it]'"
}

PANES=(server "${USERS[@]}")
if ! tmux has-session -t "$SESSION" 2>/dev/null; then
    tmux new-session -d -s "$SESSION" -x 240 -y 50 -n chat "$(pane_command server)"
    tmux set-option -t "$SESSION" remain-on-exit on
    for user in "${USERS[@]}"; do
        tmux split-window -t "$SESSION:chat" -h "$(pane_command "$user")"
    done
    # The server pane stays small at the left; the clients share the rest.
    tmux select-layout -t "$SESSION:chat" even-horizontal
    tmux resize-pane -t "$SESSION:chat.0" -x 30
    tmux select-pane -t "$SESSION:chat.1"
    started="started"
else
    tmux set-option -t "$SESSION" remain-on-exit on
    started="already running;"
    restarted=0
    for i in "${!PANES[@]}"; do
        if [ "$(tmux display-message -p -t "$SESSION:chat.$i" '#{pane_dead}' 2>/dev/null)" = 1 ]; then
            tmux respawn-pane -t "$SESSION:chat.$i" "$(pane_command "${PANES[$i]}")"
            echo "demo: restarted ${PANES[$i]}"
            restarted=$((restarted + 1))
        fi
    done
    [ "$restarted" -gt 0 ] || echo "demo: every pane is running"
fi

cat <<MSG
demo: $started server on $ADDR (database in $DEMO), clients ${USERS[*]} (password '$PASSWORD').
demo: attach with   tmux attach -t $SESSION
      try: type in # public; /chat bob in alice's pane; Alt-2 then 'a' in bob's;
           /create #tea open in one pane and /join #tea in another.
      F1 shows every key; Ctrl-C quits a client (run this script again to restart it);
      tmux kill-session -t $SESSION ends it all.
MSG
