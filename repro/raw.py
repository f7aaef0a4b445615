#!/usr/bin/env python3
"""Raw-socket probes against `sockit http serve`. usage: raw.py PORT [case...]"""
import socket, sys, time
P = int(sys.argv[1])
def send(data, split=None, wait=1.0, tls=False):
    s = socket.create_connection(("127.0.0.1", P)); s.settimeout(wait)
    if split:
        for i in range(0, len(data), split):
            s.sendall(data[i:i+split]); time.sleep(0.001)
    else:
        s.sendall(data)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d: break
            out += d
    except socket.timeout:
        out += b"<<TIMEOUT(open)>>"
    s.close(); return out
def summ(out):
    import re
    return " | ".join(x.decode() for x in re.findall(rb"HTTP/1\.[01] \d\d\d|<<TIMEOUT\(open\)>>", out))
H = "Host: x\r\n"
cases = {
 "cl_pipeline": b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
 "cl_te_both": b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
 "te_chunked_get": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
 "te_chunked_bytewise": (b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + b"000000a;ext=1\r\n0123456789\r\n0\r\nTrailer: y\r\n\r\n" + b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 1),
 "te_gzip_chunked": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
 "te_chunked_gzip": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
 "te_space": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
 "te_tab": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
 "te_xchunked": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
 "te_two": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n",
 "te_http10": b"GET /a.txt HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /a.txt HTTP/1.0\r\n\r\n",
 "chunk_size_overflow": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000000001\r\nA\r\n0\r\n\r\n",
 "chunk_neg": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nA\r\n0\r\n\r\n",
 "chunk_lf_only": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\nA\n0\n\nGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
 "chunk_bad_ending": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nAXX0\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
 "chunk_0x": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x1\r\nA\r\n0\r\n\r\n",
 "chunk_space_size": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1 \r\nA\r\n0\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
 "cl_dup_diff": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
 "cl_dup_same": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\naGET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
 "cl_list": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\naGET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
 "cl_plus": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\na",
 "cl_huge": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\na",
 "obs_fold": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
 "obs_fold_te": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nX: a\r\n Transfer-Encoding: chunked\r\n\r\n",
 "bare_lf": b"GET /a.txt HTTP/1.1\nHost: x\n\n",
 "bare_cr": b"GET /a.txt HTTP/1.1\rHost: x\r\n\r\n",
 "nul_header": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n",
 "space_before_colon": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello",
 "leading_crlf": b"\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
 "http09": b"GET /a.txt\r\n\r\n",
 "http2_preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
 "version_11x": b"GET /a.txt HTTP/1.10\r\nHost: x\r\n\r\n",
 "version_lower": b"GET /a.txt http/1.1\r\nHost: x\r\n\r\n",
 "abs_form": b"GET http://evil/a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
 "abs_form_userinfo": b"GET http://u:p@evil/a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
 "abs_form_odd": b"GET http://evil:99999/../../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
 "abs_form_ftp": b"GET ftp://evil/a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
 "asterisk_get": b"GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
 "options_star": b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
 "connect": b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n",
 "head_then_get": b"HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
 "expect_100_get": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
 "expect_bogus": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nExpect: 999-whatever\r\n\r\n",
 "expect_100_then_smuggle": b"POST /a.txt HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 40\r\n\r\nGET /sub/ HTTP/1.1\r\nHost: x\r\n\r\nxxxxxxxxxx",
 "bad_after_good": b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
 "method_lower": b"get /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
 "double_space": b"GET  /a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
 "tab_sep": b"GET\t/a.txt\tHTTP/1.1\r\nHost: x\r\n\r\n",
 "host_missing_11": b"GET /a.txt HTTP/1.1\r\n\r\n",
 "fragment": b"GET /a.txt#frag HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
 "range_many": b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\nRange: bytes=" + b",".join(b"%d-%d" % (i, i) for i in range(3000)) + b"\r\n\r\n",
 "range_overflow": b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\nRange: bytes=18446744073709551615-18446744073709551616\r\n\r\n",
 "range_suffix_huge": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\nRange: bytes=-99999999999999999999999\r\n\r\n",
 "range_zero_suffix": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\nRange: bytes=-0\r\n\r\n",
 "range_reversed": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\nRange: bytes=3-1\r\n\r\n",
 "inm_many": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\nIf-None-Match: " + b", ".join(b'"e%d"' % i for i in range(1500)) + b"\r\n\r\n",
 "ims_garbage": b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\nIf-Modified-Since: Mon, 99 Foo 99999 99:99:99 GMT\r\n\r\n",
}
names = sys.argv[2:] or list(cases)
for n in names:
    c = cases[n]; split = None
    if isinstance(c, tuple): c, split = c
    try: r = send(c, split)
    except Exception as e: r = repr(e).encode()
    print(f"{n:24s} {summ(r)}")
