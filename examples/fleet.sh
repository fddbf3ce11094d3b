#!/bin/sh
# A line of cameras in one process: CAMERAS simulated cameras (videotestsrc, each its own pattern) inspected by one
# model, each publishing its results to one MQTT broker as source cam1, cam2, ...; a live per-camera table read
# back from the broker (examples/fleet_table.py), and each camera's JSON-lines log in WORKDIR.
#   examples/fleet.sh MODEL WORKDIR [CAMERAS] [FRAMES] [BROKER_HOST] [BROKER_PORT]
# Without BROKER_HOST a mosquitto broker is started on a free local port for the run.
# e.g. examples/quickstart.sh && examples/fleet.sh demo/washer.efad demo-fleet 4 300
set -eu
[ $# -ge 2 ] || { sed -n '2,7p' "$0"; exit 2; }
. "$(dirname "$0")/gst-env.sh"
model=$1 work=$2 cameras=${3:-3} frames=${4:-300} host=${5:-} port=${6:-1883}
mkdir -p "$work"
[ -f "$model" ] || { echo "no such model: $model" >&2; exit 1; }

if [ -z "$host" ]; then
  host=127.0.0.1
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$port" >"$work/mosquitto.conf"
  broker=$(command -v mosquitto || echo /usr/sbin/mosquitto)
  "$broker" -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
  broker_pid=$!
  sleep 1
fi
rm -f "$work/records" && mkfifo "$work/records"
"$(dirname "$0")/fleet_table.py" <"$work/records" &
table_pid=$!
mosquitto_sub -h "$host" -p "$port" -t 'efficientad/+/results' >"$work/records" &
subscriber_pid=$!
trap 'kill $subscriber_pid ${broker_pid:-} 2>/dev/null; wait $table_pid 2>/dev/null; rm -f "$work/records"' EXIT
sleep 1

# One gst-launch holds all pipelines; "$@" collects them, one argument per word (gst-launch escapes the spaces
# inside an argument, so that paths with spaces work).
set --
i=1
for pattern in ball smpte snow circular pinwheel spokes gradient zone-plate; do
  [ "$i" -le "$cameras" ] || break
  set -- "$@" videotestsrc pattern="$pattern" num-buffers="$frames" is-live=true ! \
    video/x-raw,width=640,height=480,framerate=10/1 ! efficientad model-file="$model" threads=1 ! \
    anomalypublish source-id="cam$i" mqtt-host="$host" mqtt-port="$port" file-path="$work/cam$i.jsonl" ! \
    fakesink sync=false
  i=$((i + 1))
done
echo "== $cameras cameras, $frames frames each, publishing to $host:$port"
gst-launch-1.0 -q "$@"
sleep 1
echo "== logs: $(for f in "$work"/cam*.jsonl; do printf '%s %s lines  ' "$(basename "$f")" "$(wc -l <"$f")"; done)"
