"""A loopback server that misbehaves for tests/cli/hostile.sh.

usage: hostile_server.py MODE PORT_FILE
  redirect: every request gets a 302 whose Location carries a token
  endless:  every request gets an event stream whose one line never ends
Writes the bound port to PORT_FILE; serves until killed.
"""
import socket, sys, threading
mode, portfile = sys.argv[1], sys.argv[2]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16)
with open(portfile, "w") as f: f.write("%d\n" % s.getsockname()[1])
def serve(c):
    try:
        c.recv(65536)
        if mode == "redirect":
            c.sendall(b"HTTP/1.1 302 Found\r\nLocation: /next?token=S3CRETR\r\nContent-Length: 0\r\n\r\n")
        elif mode == "endless":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: ")
            chunk = b"x" * 65536
            while True: c.sendall(chunk)
    except OSError: pass
    finally: c.close()
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
