/*
 * loadgen: the WebSocket load generator of pyws's scripts/bench.
 *
 * One thread, epoll, non-blocking sockets. It performs the client side of the
 * opening handshake itself, sends masked frames (RFC 6455 section 5.3), keeps
 * a fixed number of messages in flight on each connection, and checks the
 * length of every echoed message. Results are JSON lines on stdout:
 *
 *   {"event":"ready",...}   all connections are open (idle mode: holding)
 *   {"event":"start",...}   the measured window begins (after the warm-up)
 *   {"event":"result",...}  the measured window is over; figures follow
 *
 * The driver (run.py) reads the server's CPU time from /proc when it sees
 * "start" and "result", so the server's CPU covers the same window.
 *
 * Modes:
 *   throughput  --conns N --inflight M --size S [--text] [--deflate] [--raw]
 *   latency     one connection, one message in flight, RTT percentiles
 *   handshakes  --conns K concurrent: connect, upgrade, close handshake, repeat
 *   idle        open --conns N connections, print "ready", hold until a line
 *               (or EOF) arrives on stdin, then close them all
 *
 * --raw talks to a plain TCP echo: no HTTP handshake, and the echoed frames
 * are our own masked frames, which are accepted as they are.
 * --deflate offers "permessage-deflate; client_no_context_takeover;
 * client_max_window_bits", sends 64 different compressible messages, each
 * compressed once up front, and inflates every reply to check its length.
 *
 * Build: cc -O2 -o loadgen loadgen.c -lz
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

enum { MODE_THROUGHPUT, MODE_LATENCY, MODE_HANDSHAKES, MODE_IDLE };
enum { ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_CLOSING, ST_DONE };

#define NVARIANTS 64
#define STDIN_TAG ((void *)1)

typedef struct {
    int fd;
    int state;
    int writable;
    int inflight;
    int got_close;
    unsigned variant;
    char *rbuf;
    size_t rlen, rcap;
    char *wbuf;
    size_t wlen, woff, wcap;
    uint64_t msg_len;   /* payload bytes of the message being received */
    int msg_compressed; /* RSV1 on its first frame */
    uint64_t sent_ns;   /* latency mode: when the message went out */
    uint64_t deadline_ns;
    z_stream inf;
    int inf_ready;
} conn_t;

/* options */
static int mode = MODE_THROUGHPUT;
static const char *host = "127.0.0.1";
static int port = 0;
static const char *path = "/";
static int nconns = 8;
static int inflight = 16;
static size_t size = 16;
static int text = 0;
static int raw = 0;
static int deflate_on = 0;
static double duration_ms = 2000;
static double warmup_ms = 500;

/* state */
static int ep;
static conn_t *conns;
static char request[1024];
static size_t request_len;
static char *frames[NVARIANTS];
static size_t frame_lens[NVARIANTS];
static int nframes = 1;
static const unsigned char close_frame[8] = {0x88, 0x82, 0x37, 0xfa,
                                             0x21, 0x3d, 0x37 ^ 0x03, 0xfa ^ 0xe8};
static uint64_t count = 0;   /* messages (or handshakes) in the window */
static uint64_t errors = 0;
static int measuring = 0;
static int sending = 1;
static int server_no_ctx = 0;
static uint64_t *samples;
static size_t nsamples, samples_cap;
static unsigned char inflate_out[65536];
static char first_error[256];

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void fail(const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    printf("{\"event\":\"error\",\"message\":\"%s\"}\n", msg);
    fflush(stdout);
    exit(2);
}

static void note_error(const char *fmt, ...) {
    errors++;
    if (first_error[0] == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(first_error, sizeof first_error, fmt, ap);
        va_end(ap);
        for (char *p = first_error; *p; p++)
            if (*p == '"' || *p == '\\' || *p < 32) *p = ' ';
    }
}

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n);
    if (!q) fail("out of memory");
    return q;
}

/* ---- frames ---------------------------------------------------------- */

static size_t build_frame(char *out, int opcode, int rsv1, const unsigned char *payload,
                          size_t len) {
    static const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t h = 0;
    out[h++] = (char)(0x80 | (rsv1 ? 0x40 : 0) | opcode);
    if (len < 126) {
        out[h++] = (char)(0x80 | len);
    } else if (len < 65536) {
        out[h++] = (char)(0x80 | 126);
        out[h++] = (char)(len >> 8);
        out[h++] = (char)len;
    } else {
        out[h++] = (char)(0x80 | 127);
        for (int i = 7; i >= 0; i--) out[h++] = (char)((uint64_t)len >> (8 * i));
    }
    memcpy(out + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < len; i++) out[h + i] = (char)(payload[i] ^ mask[i & 3]);
    return h + len;
}

/* Compressible text: words from a small vocabulary, picked by an LCG. */
static void make_text(unsigned char *buf, size_t len, unsigned seed) {
    static const char *words[] = {"alpha", "beta", "gamma", "delta", "echo",
                                  "socket", "frame", "message", "close", "open",
                                  "{\"id\":", "\"value\":", "true,", "null,", "1234,",
                                  "\"name\":", "\"items\":[", "],", "},", "pyws"};
    uint32_t x = 2463534242u ^ (seed * 2654435761u);
    size_t i = 0;
    while (i < len) {
        x = x * 1664525u + 1013904223u;
        const char *w = words[(x >> 16) % 20];
        while (*w && i < len) buf[i++] = (unsigned char)*w++;
        if (i < len) buf[i++] = ' ';
    }
}

static void build_payloads(void) {
    unsigned char *payload = malloc(size + 1);
    if (!payload) fail("out of memory");
    if (deflate_on) {
        nframes = NVARIANTS;
        for (int v = 0; v < NVARIANTS; v++) {
            make_text(payload, size, (unsigned)v + 1);
            z_stream z;
            memset(&z, 0, sizeof z);
            if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
                             Z_DEFAULT_STRATEGY) != Z_OK)
                fail("deflateInit2");
            size_t cap = deflateBound(&z, size) + 16;
            unsigned char *c = malloc(cap);
            z.next_in = payload;
            z.avail_in = (uInt)size;
            z.next_out = c;
            z.avail_out = (uInt)cap;
            if (deflate(&z, Z_SYNC_FLUSH) != Z_OK) fail("deflate");
            size_t clen = cap - z.avail_out;
            deflateEnd(&z);
            /* RFC 7692 section 7.2.1: drop the trailing 00 00 ff ff */
            if (clen >= 4) clen -= 4;
            frames[v] = malloc(clen + 14);
            frame_lens[v] = build_frame(frames[v], 1, 1, c, clen);
            free(c);
        }
    } else {
        if (text)
            make_text(payload, size, 7);
        else
            for (size_t i = 0; i < size; i++) payload[i] = (unsigned char)(i * 31 + 7);
        frames[0] = malloc(size + 14);
        frame_lens[0] = build_frame(frames[0], text ? 1 : 2, 0, payload, size);
    }
    free(payload);
}

/* ---- connections ----------------------------------------------------- */

static void wappend(conn_t *c, const void *data, size_t len) {
    if (c->wlen + len > c->wcap) {
        if (c->woff > 0) {
            memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
            c->wlen -= c->woff;
            c->woff = 0;
        }
        if (c->wlen + len > c->wcap) {
            c->wcap = (c->wlen + len) * 2;
            c->wbuf = xrealloc(c->wbuf, c->wcap);
        }
    }
    memcpy(c->wbuf + c->wlen, data, len);
    c->wlen += len;
}

static void conn_close(conn_t *c) {
    if (c->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->state = ST_DONE;
}

static void flush(conn_t *c) {
    while (c->writable && c->woff < c->wlen) {
        ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
        if (n > 0) {
            c->woff += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->writable = 0;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            note_error("send: %s", strerror(errno));
            conn_close(c);
            return;
        }
    }
    if (c->woff == c->wlen) c->woff = c->wlen = 0;
}

static void send_message(conn_t *c) {
    unsigned v = c->variant++ % (unsigned)nframes;
    wappend(c, frames[v], frame_lens[v]);
    c->inflight++;
    if (mode == MODE_LATENCY) c->sent_ns = now_ns();
}

static void conn_start(conn_t *c) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) fail("socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, host, &sa.sin_addr);
    int r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    if (r < 0 && errno != EINPROGRESS) fail("connect: %s", strerror(errno));
    c->fd = fd;
    c->state = ST_CONNECTING;
    c->writable = 0;
    c->inflight = 0;
    c->got_close = 0;
    c->rlen = c->wlen = c->woff = 0;
    c->msg_len = 0;
    c->deadline_ns = now_ns() + (mode == MODE_HANDSHAKES ? 3000000000ull : 30000000000ull);
    struct epoll_event ev;
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = c;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) fail("epoll_ctl: %s", strerror(errno));
}

static void on_open(conn_t *c) {
    c->state = ST_OPEN;
    if (c->inf_ready) {
        inflateReset(&c->inf);
    } else if (deflate_on) {
        memset(&c->inf, 0, sizeof c->inf);
        if (inflateInit2(&c->inf, -15) != Z_OK) fail("inflateInit2");
        c->inf_ready = 1;
    }
    if (mode == MODE_HANDSHAKES) {
        wappend(c, close_frame, sizeof close_frame);
        c->state = ST_CLOSING;
    } else if (mode == MODE_THROUGHPUT || mode == MODE_LATENCY) {
        int n = mode == MODE_LATENCY ? 1 : inflight;
        for (int i = 0; i < n; i++) send_message(c);
    }
}

static int on_connected(conn_t *c) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
        note_error("connect: %s", strerror(err));
        conn_close(c);
        return -1;
    }
    if (raw) {
        on_open(c);
    } else {
        c->state = ST_HANDSHAKE;
        wappend(c, request, request_len);
    }
    return 0;
}

static uint64_t inflate_len(conn_t *c, const unsigned char *data, size_t len) {
    uint64_t out = 0;
    c->inf.next_in = (unsigned char *)data;
    c->inf.avail_in = (uInt)len;
    do {
        c->inf.next_out = inflate_out;
        c->inf.avail_out = sizeof inflate_out;
        int r = inflate(&c->inf, Z_SYNC_FLUSH);
        if (r != Z_OK && r != Z_BUF_ERROR && r != Z_STREAM_END) {
            note_error("inflate: %d", r);
            return 0;
        }
        out += sizeof inflate_out - c->inf.avail_out;
        if (r == Z_BUF_ERROR) break;
    } while (c->inf.avail_out == 0 || c->inf.avail_in > 0);
    return out;
}

static void on_message(conn_t *c) {
    if (c->msg_len != size) note_error("echo length %llu, expected %zu",
                                       (unsigned long long)c->msg_len, size);
    c->inflight--;
    if (measuring) {
        count++;
        if (mode == MODE_LATENCY) {
            if (nsamples == samples_cap) {
                samples_cap = samples_cap ? samples_cap * 2 : 65536;
                samples = xrealloc(samples, samples_cap * sizeof *samples);
            }
            samples[nsamples++] = now_ns() - c->sent_ns;
        }
    }
    if (sending && c->state == ST_OPEN) send_message(c);
}

/* Parses every complete frame in the receive buffer. */
static void parse_frames(conn_t *c) {
    size_t off = 0;
    unsigned char *b = (unsigned char *)c->rbuf;
    while (c->state != ST_DONE && c->rlen - off >= 2) {
        unsigned char b0 = b[off], b1 = b[off + 1];
        int fin = b0 & 0x80, rsv1 = b0 & 0x40, opcode = b0 & 0x0f, masked = b1 & 0x80;
        uint64_t len = b1 & 0x7f;
        size_t h = 2;
        if (len == 126) {
            if (c->rlen - off < 4) break;
            len = ((uint64_t)b[off + 2] << 8) | b[off + 3];
            h = 4;
        } else if (len == 127) {
            if (c->rlen - off < 10) break;
            len = 0;
            for (int i = 0; i < 8; i++) len = (len << 8) | b[off + 2 + i];
            h = 10;
        }
        if (masked) {
            if (!raw) {
                note_error("masked frame from server");
                conn_close(c);
                return;
            }
            h += 4;
        }
        if (c->rlen - off < h + len) {
            size_t need = h + (size_t)len;
            if (need > c->rcap) {
                c->rcap = need + 65536;
                c->rbuf = xrealloc(c->rbuf, c->rcap);
                b = (unsigned char *)c->rbuf;
            }
            break;
        }
        const unsigned char *payload = b + off + h;
        off += h + (size_t)len;
        if (opcode >= 8) {
            if (opcode == 8) {
                c->got_close = 1;
                if (c->state == ST_OPEN) {
                    note_error("unexpected close frame from server");
                    wappend(c, close_frame, sizeof close_frame);
                    c->state = ST_CLOSING;
                }
            } else if (opcode == 9) {
                char pong[140];
                unsigned char data[125];
                memcpy(data, payload, len > 125 ? 125 : len);
                size_t n = build_frame(pong, 10, 0, data, len > 125 ? 125 : len);
                wappend(c, pong, n);
            }
            continue;
        }
        if (opcode != 0) {
            c->msg_len = 0;
            c->msg_compressed = rsv1 != 0;
        }
        if (c->msg_compressed && !raw) {
            if (!c->inf_ready) {
                note_error("compressed frame without permessage-deflate");
            } else {
                c->msg_len += inflate_len(c, payload, (size_t)len);
                if (fin) {
                    static const unsigned char tail[4] = {0, 0, 0xff, 0xff};
                    c->msg_len += inflate_len(c, tail, 4);
                    if (server_no_ctx) inflateReset(&c->inf);
                }
            }
        } else {
            c->msg_len += len;
        }
        if (fin) on_message(c);
    }
    if (off > 0 && c->state != ST_DONE) {
        memmove(c->rbuf, c->rbuf + off, c->rlen - off);
        c->rlen -= off;
    }
}

static void parse_handshake(conn_t *c) {
    char *end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
    if (!end) return;
    size_t hlen = (size_t)(end - c->rbuf) + 4;
    if (c->rlen < 12 || memcmp(c->rbuf, "HTTP/1.1 101", 12) != 0) {
        note_error("handshake refused: %.40s", c->rbuf);
        conn_close(c);
        return;
    }
    if (deflate_on) {
        c->rbuf[hlen - 1] = 0;
        char *lower = strcasestr(c->rbuf, "permessage-deflate");
        if (!lower) fail("the server did not accept permessage-deflate");
        server_no_ctx = strcasestr(c->rbuf, "server_no_context_takeover") != NULL;
    }
    memmove(c->rbuf, c->rbuf + hlen, c->rlen - hlen);
    c->rlen -= hlen;
    on_open(c);
}

static void on_readable(conn_t *c, int hup) {
    for (;;) {
        if (c->rcap - c->rlen < 16384) {
            c->rcap = c->rcap ? c->rcap * 2 : 262144;
            c->rbuf = xrealloc(c->rbuf, c->rcap);
        }
        ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
        if (n > 0) {
            size_t space = c->rcap - c->rlen;
            c->rlen += (size_t)n;
            if (c->state == ST_HANDSHAKE) parse_handshake(c);
            if (c->state == ST_OPEN || c->state == ST_CLOSING) parse_frames(c);
            if (c->state == ST_DONE) return;
            /* A short read drained the socket; more data raises a new edge. */
            if ((size_t)n < space && !hup) return;
        } else if (n == 0) {
            /* the server's FIN */
            if (c->state != ST_CLOSING || !c->got_close)
                note_error("connection closed by the server (state %d)", c->state);
            else if (mode == MODE_HANDSHAKES && measuring)
                count++;
            conn_close(c);
            return;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        } else if (errno != EINTR) {
            note_error("recv: %s", strerror(errno));
            conn_close(c);
            return;
        }
    }
}

static void handle_event(conn_t *c, uint32_t events) {
    if (c->state == ST_DONE) return;
    if (c->state == ST_CONNECTING) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        if (on_connected(c) < 0) return;
    }
    if (events & EPOLLOUT) c->writable = 1;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(c, (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
    if (c->state != ST_DONE) flush(c);
}

/* Runs the loop until stop() says so or until deadline_ns. */
static int poll_once(int timeout_ms, int *stdin_ready) {
    struct epoll_event evs[256];
    int n = epoll_wait(ep, evs, 256, timeout_ms);
    if (n < 0 && errno != EINTR) fail("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; i++) {
        if (evs[i].data.ptr == STDIN_TAG) {
            if (stdin_ready) *stdin_ready = 1;
            continue;
        }
        handle_event(evs[i].data.ptr, evs[i].events);
    }
    return n;
}

static int count_state(int st) {
    int k = 0;
    for (int i = 0; i < nconns; i++) k += conns[i].state == st;
    return k;
}

/* Opens every connection, at most 64 handshakes pending at a time. */
static void open_all(void) {
    int started = 0;
    uint64_t deadline = now_ns() + 30000000000ull;
    for (;;) {
        int pending = 0, open = 0;
        for (int i = 0; i < started; i++) {
            pending += conns[i].state == ST_CONNECTING || conns[i].state == ST_HANDSHAKE;
            open += conns[i].state == ST_OPEN;
        }
        while (started < nconns && pending < 64) {
            conn_start(&conns[started++]);
            pending++;
        }
        if (errors > 0) fail("opening connections failed: %s", first_error);
        if (started == nconns && pending == 0) {
            if (open < nconns) fail("only %d of %d connections opened: %s", open, nconns,
                                    first_error);
            return;
        }
        if (now_ns() > deadline) fail("timed out opening connections: %s", first_error);
        poll_once(100, NULL);
    }
}

/* Stops sending, lets the in-flight messages drain, then closes cleanly. */
static void close_all(void) {
    sending = 0;
    uint64_t deadline = now_ns() + 3000000000ull;
    for (;;) {
        int busy = 0;
        for (int i = 0; i < nconns; i++)
            if (conns[i].state == ST_OPEN && conns[i].inflight > 0) busy++;
        if (!busy || now_ns() > deadline) break;
        poll_once(50, NULL);
    }
    for (int i = 0; i < nconns; i++) {
        conn_t *c = &conns[i];
        if (c->state == ST_OPEN) {
            c->state = ST_CLOSING;
            if (raw) {
                shutdown(c->fd, SHUT_WR);
                c->got_close = 1;
            } else {
                wappend(c, close_frame, sizeof close_frame);
                flush(c);
            }
        }
    }
    deadline = now_ns() + 5000000000ull;
    while (count_state(ST_DONE) < nconns && now_ns() < deadline) poll_once(50, NULL);
    for (int i = 0; i < nconns; i++) conn_close(&conns[i]);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void usage(void) {
    fprintf(stderr,
            "usage: loadgen throughput|latency|handshakes|idle --port P [--host H]\n"
            "       [--path /] [--conns N] [--inflight M] [--size S] [--text]\n"
            "       [--deflate] [--raw] [--duration-ms D] [--warmup-ms W]\n");
    exit(64);
}

int main(int argc, char **argv) {
    if (argc < 2) usage();
    if (!strcmp(argv[1], "throughput")) mode = MODE_THROUGHPUT;
    else if (!strcmp(argv[1], "latency")) mode = MODE_LATENCY;
    else if (!strcmp(argv[1], "handshakes")) mode = MODE_HANDSHAKES;
    else if (!strcmp(argv[1], "idle")) mode = MODE_IDLE;
    else usage();
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--text")) text = 1;
        else if (!strcmp(a, "--raw")) raw = 1;
        else if (!strcmp(a, "--deflate")) deflate_on = 1;
        else if (!v) usage();
        else if (!strcmp(a, "--host")) host = v, i++;
        else if (!strcmp(a, "--port")) port = atoi(v), i++;
        else if (!strcmp(a, "--path")) path = v, i++;
        else if (!strcmp(a, "--conns")) nconns = atoi(v), i++;
        else if (!strcmp(a, "--inflight")) inflight = atoi(v), i++;
        else if (!strcmp(a, "--size")) size = (size_t)atol(v), i++;
        else if (!strcmp(a, "--duration-ms")) duration_ms = atof(v), i++;
        else if (!strcmp(a, "--warmup-ms")) warmup_ms = atof(v), i++;
        else usage();
    }
    if (port <= 0 || nconns <= 0 || inflight <= 0) usage();
    if (deflate_on) text = 1;
    if (mode == MODE_LATENCY) nconns = 1, inflight = 1;

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    request_len = (size_t)snprintf(
        request, sizeof request,
        "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
        path, host, port,
        deflate_on ? "Sec-WebSocket-Extensions: permessage-deflate; "
                     "client_no_context_takeover; client_max_window_bits\r\n"
                   : "");
    build_payloads();
    ep = epoll_create1(0);
    conns = calloc((size_t)nconns, sizeof *conns);
    for (int i = 0; i < nconns; i++) conns[i].fd = -1;

    if (mode == MODE_HANDSHAKES) {
        /* --conns handshakes run at once; each slot restarts when it ends */
        uint64_t t0 = now_ns(), start = t0 + (uint64_t)(warmup_ms * 1e6);
        uint64_t stop = start + (uint64_t)(duration_ms * 1e6);
        double c0 = 0;
        for (int i = 0; i < nconns; i++) conn_start(&conns[i]);
        for (;;) {
            uint64_t t = now_ns();
            if (!measuring && t >= start) {
                measuring = 1;
                c0 = cpu_s();
                printf("{\"event\":\"start\"}\n");
                fflush(stdout);
            }
            if (t >= stop) break;
            for (int i = 0; i < nconns; i++) {
                conn_t *c = &conns[i];
                if (c->state != ST_DONE && t > c->deadline_ns) {
                    note_error("handshake cycle timed out (state %d)", c->state);
                    conn_close(c);
                }
                if (c->state == ST_DONE) conn_start(c);
            }
            poll_once(10, NULL);
        }
        double cpu = cpu_s() - c0;
        double elapsed = (now_ns() - start) / 1e9;
        printf("{\"event\":\"result\",\"mode\":\"handshakes\",\"count\":%llu,"
               "\"elapsed_s\":%.6f,\"rate\":%.1f,\"errors\":%llu,\"gen_cpu_s\":%.4f,"
               "\"first_error\":\"%s\"}\n",
               (unsigned long long)count, elapsed, count / elapsed,
               (unsigned long long)errors, cpu, first_error);
        fflush(stdout);
        uint64_t deadline = now_ns() + 3000000000ull;
        measuring = 0;
        while (count_state(ST_DONE) < nconns && now_ns() < deadline) poll_once(50, NULL);
        return 0;
    }

    open_all();
    printf("{\"event\":\"ready\",\"open\":%d}\n", nconns);
    fflush(stdout);

    if (mode == MODE_IDLE) {
        struct epoll_event ev;
        ev.events = EPOLLIN;
        ev.data.ptr = STDIN_TAG;
        epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
        int go = 0;
        while (!go) poll_once(1000, &go);
        epoll_ctl(ep, EPOLL_CTL_DEL, 0, NULL);
        int lost = nconns - count_state(ST_OPEN);
        close_all();
        printf("{\"event\":\"result\",\"mode\":\"idle\",\"open\":%d,\"lost\":%d,"
               "\"errors\":%llu,\"first_error\":\"%s\"}\n",
               nconns, lost, (unsigned long long)errors, first_error);
        return 0;
    }

    uint64_t start = now_ns() + (uint64_t)(warmup_ms * 1e6);
    while (now_ns() < start) poll_once(10, NULL);
    measuring = 1;
    double c0 = cpu_s();
    uint64_t t0 = now_ns();
    printf("{\"event\":\"start\"}\n");
    fflush(stdout);
    uint64_t stop = t0 + (uint64_t)(duration_ms * 1e6);
    while (now_ns() < stop) {
        if (count_state(ST_DONE) == nconns) break;
        poll_once(10, NULL);
    }
    measuring = 0;
    double elapsed = (now_ns() - t0) / 1e9;
    double cpu = cpu_s() - c0;
    char extra[256] = "";
    if (mode == MODE_LATENCY && nsamples > 0) {
        qsort(samples, nsamples, sizeof *samples, cmp_u64);
        double sum = 0;
        for (size_t i = 0; i < nsamples; i++) sum += (double)samples[i];
        snprintf(extra, sizeof extra,
                 ",\"p50_us\":%.2f,\"p99_us\":%.2f,\"mean_us\":%.2f,\"max_us\":%.2f",
                 samples[nsamples / 2] / 1e3, samples[(nsamples * 99) / 100] / 1e3,
                 sum / nsamples / 1e3, samples[nsamples - 1] / 1e3);
    }
    printf("{\"event\":\"result\",\"mode\":\"%s\",\"count\":%llu,\"elapsed_s\":%.6f,"
           "\"rate\":%.1f,\"errors\":%llu,\"gen_cpu_s\":%.4f,\"open\":%d%s,"
           "\"first_error\":\"%s\"}\n",
           mode == MODE_LATENCY ? "latency" : "throughput", (unsigned long long)count,
           elapsed, count / elapsed, (unsigned long long)errors, cpu,
           count_state(ST_OPEN), extra, first_error);
    fflush(stdout);
    close_all();
    return 0;
}
