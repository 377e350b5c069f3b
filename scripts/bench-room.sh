# Sourced by the measuring scripts: registers a user on the server at $base, creates a room
# (which the user then is in) and sets $poll_url, the room's empty poll from the page's cursor,
# and $cookie, the session cookie for it. Needs $work, a scratch folder.
bench_room() {
  local jar="$work/jar" t room page last
  rm -f "$jar"
  token() { grep -o 'name="csrf-token" content="[^"]*"' | sed 's/.*content="//; s/"$//'; }
  t=$(curl -s -c "$jar" -b "$jar" "$base/register" | token)
  curl -s -o /dev/null -c "$jar" -b "$jar" \
    --data "csrf_token=$t&username=bench&password=measured+slowly+42" "$base/register"
  t=$(curl -s -c "$jar" -b "$jar" "$base/lobby" | token)
  room=$(curl -s -o /dev/null -w '%{redirect_url}' -c "$jar" -b "$jar" \
    --data "csrf_token=$t&name=Bench" "$base/rooms" | sed 's#.*/rooms/##')
  page=$(curl -s -c "$jar" -b "$jar" "$base/rooms/$room")
  last=$(printf '%s' "$page" | grep -o 'data-last-id="[0-9]*"' | grep -o '[0-9]*')
  poll_url="$base/api/rooms/$room/messages?after=$last"
  cookie="chatroom_session=$(awk '$6 == "chatroom_session" {print $7}' "$jar")"
}

# Posts one message (with a little Markdown) into the room bench_room made, and sets
# $message_poll_url: a poll whose answer carries that message, every time.
bench_message() {
  local jar="$work/jar" t room
  room=${poll_url#*/api/rooms/}
  room=${room%%/*}
  t=$(curl -s -c "$jar" -b "$jar" "$base/rooms/$room" | token)
  curl -s -o /dev/null -c "$jar" -b "$jar" -H 'Content-Type: application/json' \
    -H "X-CSRF-Token: $t" \
    --data '{"text": "a message of ordinary length, with **some** formatting and a link: https://example.com/page"}' \
    "$base/api/rooms/$room/messages"
  message_poll_url=$poll_url
}

