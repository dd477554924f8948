"""The registry's built-in data: dotted names of callables in each class.

An entry names a callable, a class (every method of it) or a module (everything in it);
the longest entry that prefixes a name decides its class. Names are public ones: the
registry maps C modules to the module users import (`_socket` → `socket`, `posix` → `os`).
Extending the registry is adding a line here, or calling `xcs.register_blocking(...)`.
"""
from __future__ import annotations

_SOCKET_WAITS = ("accept", "connect", "connect_ex", "recv", "recv_into", "recvfrom", "recvfrom_into",
                 "recvmsg", "recvmsg_into", "send", "sendall", "sendto", "sendmsg", "sendfile")
_FILE_WRITES = ("write", "writelines")

# Releases the GIL and waits: worth running on another thread. Local file calls (`open`,
# file reads, `Path.read_text`, `shutil.copy`) are not here: from the page cache they take
# microseconds, less than a thread hop, so the first-iteration probe measures them instead
# (a slow network file system then still makes the loop parallel).
BLOCKING = (
    "time.sleep",
    *(f"socket.socket.{m}" for m in _SOCKET_WAITS),
    "socket.create_connection", "socket.create_server", "socket.getaddrinfo", "socket.gethostbyname",
    "socket.gethostbyname_ex", "socket.gethostbyaddr", "socket.getnameinfo", "socket.getfqdn",
    "select", "selectors",
    "ssl.SSLSocket", "ssl.SSLObject.read", "ssl.SSLObject.write", "ssl.SSLObject.do_handshake",
    "ssl._SSLSocket.read", "ssl._SSLSocket.write", "ssl._SSLSocket.do_handshake",
    "os.read", "os.readv", "os.pread", "os.write", "os.writev", "os.pwrite", "os.sendfile",
    "os.wait", "os.waitpid", "os.wait3", "os.wait4", "os.waitid", "os.system", "os.popen",
    "subprocess",
    "threading.Event.wait", "threading.Condition.wait", "threading.Thread.join", "queue.Queue.get",
    "concurrent.futures._base.Future.result",
    "urllib.request", "http.client", "ftplib", "smtplib", "imaplib", "poplib", "xmlrpc.client",
    "requests", "httpx", "urllib3", "openai", "anthropic", "botocore", "boto3",
    # Awaited in a coroutine, these suspend it while waiting (`xcs.evidence.aio`).
    "asyncio.sleep", "asyncio.tasks.sleep", "asyncio.open_connection", "asyncio.streams.open_connection",
    "asyncio.create_subprocess_exec", "asyncio.create_subprocess_shell", "asyncio.subprocess", "aiohttp",
)

# Must stay on the thread that made it.
THREAD_AFFINE = (
    "sqlite3.Connection", "sqlite3.Cursor", "sqlite3.Blob",   # ProgrammingError from another thread
    "tkinter", "turtle", "curses", "PyQt5", "PyQt6", "PySide2", "PySide6", "wx", "gi.repository.Gtk",
    "matplotlib.pyplot",                                       # drives a GUI backend's event loop
    "asyncio.base_events.BaseEventLoop",                       # loop methods are not thread-safe
    "greenlet",
)

# Writes whose order is visible.
ORDERED = (
    "builtins.print", "builtins.input",
    *(f"io.{cls}.{m}" for cls in ("TextIOWrapper", "BufferedWriter", "BufferedRandom", "FileIO", "StringIO",
                                  "BytesIO") for m in _FILE_WRITES),
    "logging.Logger", "logging.LoggerAdapter", "logging.Handler", "logging.StreamHandler",
    "logging.FileHandler", "logging.debug", "logging.info", "logging.warning", "logging.warn",
    "logging.error", "logging.exception", "logging.critical", "logging.log", "warnings.warn",
)
