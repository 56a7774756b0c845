// node-ipc 9.2.1 ships no types and @types/node-ipc does not allow the latin1 raw-buffer mode we
// use; ipc-transport.ts declares the small interface it relies on and narrows this to it.
declare module 'node-ipc' {
  const ipc: unknown;
  export default ipc;
}
