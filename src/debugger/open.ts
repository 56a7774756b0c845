import inspector from 'node:inspector';

/**
 * Opens the Node inspector on `address` ("host:port", "port", or 127.0.0.1:9229 by default) unless it
 * is already open (node --inspect); returns its ws:// URL. Only loopback unless a host is named:
 * the inspector runs any code it is sent.
 */
export function openInspector(address: string | undefined, usage: (message: string) => never): string {
  const already = inspector.url();
  if (already) return already;
  let host = '127.0.0.1';
  let port = 9229;
  if (address !== undefined) {
    const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d+)$/.exec(address);
    if (!m) usage(`'${address}' is not host:port or port (e.g. 127.0.0.1:9229)`);
    if (m[1]) host = m[1].replace(/^\[|\]$/g, '');
    port = Number(m[2]);
    if (port > 65535) usage(`port ${port} is out of range (0-65535)`);
  }
  inspector.open(port, host, false);
  const url = inspector.url();
  if (!url) usage(`the inspector did not open on ${host}:${port} (port in use?)`);
  return url;
}
