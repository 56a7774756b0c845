import { afterEach, describe, expect, it, vi } from 'vitest';
import { BugCheckCode, Irql } from '../../../src/kernel/index.ts';
import { NtStatus, WdfRequestFatalError, WdfStatusError, WdfViolation, WdfTypeId, type WDFDEVICE, type WDFQUEUE, type WDFREQUEST } from '../../../src/wdf/index.ts';
import { atPassive, loadNic, makeWdfRig, type WdfRig } from './rig.ts';
import { waitUntil } from '../../support/wait.ts';

let r: WdfRig;
afterEach(async () => r?.cleanup());

const frame = (n: number, len = 60): Uint8Array => new Uint8Array(len).fill(n);

describe('I/O queues', () => {
  it('a sequential queue presents one request at a time: the next only after the previous is completed', async () => {
    r = makeWdfRig();
    const held: WDFREQUEST[] = [];
    let queue = 0 as WDFQUEUE;
    await loadNic(r, {
      onDeviceAdd(w, dev) {
        queue = w.wdfIoQueueCreate(dev, {
          dispatch: 'sequential',
          defaultQueue: true,
          evtIoWrite(_q, req) {
            held.push(req);
          },
        });
      },
    });
    await r.wdf.startDevice(r.resources);
    const done = [1, 2, 3].map((n) => r.wdf.submitWrite(queue, frame(n)));
    await r.kernel.idle();
    expect(held).toHaveLength(1);
    await atPassive(r, () => r.wdf.wdfRequestCompleteWithInformation(held[0]!, NtStatus.STATUS_SUCCESS, 60));
    await r.kernel.idle();
    expect(held).toHaveLength(2);
    await atPassive(r, () => {
      r.wdf.wdfRequestCompleteWithInformation(held[1]!, NtStatus.STATUS_SUCCESS, 60);
    });
    await r.kernel.idle();
    await atPassive(r, () => r.wdf.wdfRequestComplete(held[2]!, NtStatus.STATUS_UNSUCCESSFUL));
    expect(await Promise.all(done)).toEqual([
      { status: 0, information: 60 },
      { status: 0, information: 60 },
      { status: NtStatus.STATUS_UNSUCCESSFUL, information: 0 },
    ]);
  });

  it('a parallel queue presents every request without waiting for completions', async () => {
    r = makeWdfRig();
    const held: WDFREQUEST[] = [];
    await loadNic(r, {
      onDeviceAdd(w, dev) {
        w.wdfIoQueueCreate(dev, {
          dispatch: 'parallel',
          defaultQueue: true,
          evtIoWrite(_q, req) {
            held.push(req);
          },
        });
      },
    });
    await r.wdf.startDevice(r.resources);
    const done = [1, 2, 3].map((n) => r.wdf.submitWrite(undefined, frame(n)));
    await r.kernel.idle();
    expect(held).toHaveLength(3);
    await atPassive(r, () => {
      for (const h of held) r.wdf.wdfRequestCompleteWithInformation(h, NtStatus.STATUS_SUCCESS, 1);
    });
    expect((await Promise.all(done)).map((c) => c.information)).toEqual([1, 1, 1]);
  });

  it('EvtIoWrite sees the submitted frame through WdfRequestRetrieveInputBuffer without a copy, with its length', async () => {
    r = makeWdfRig();
    const f = frame(7, 64);
    let seen: { same: boolean; length: number; params: unknown } | undefined;
    await loadNic(r, {
      onDeviceAdd(w, dev) {
        w.wdfIoQueueCreate(dev, {
          dispatch: 'parallel',
          defaultQueue: true,
          evtIoWrite(_q, req, length) {
            const buf = w.wdfRequestRetrieveInputBuffer(req, 14);
            seen = { same: buf === f, length, params: w.wdfRequestGetParameters(req) };
            w.wdfRequestCompleteWithInformation(req, NtStatus.STATUS_SUCCESS, buf.length);
          },
        });
      },
    });
    await r.wdf.startDevice(r.resources);
    expect(await r.wdf.submitWrite(undefined, f)).toEqual({ status: 0, information: 64 });
    expect(seen).toEqual({ same: true, length: 64, params: { type: 'write', length: 64 } });
  });

  it('requests are completed exactly once: completing one again is WDF_VIOLATION (invalid handle, "completed")', async () => {
    r = makeWdfRig();
    let req = 0 as WDFREQUEST;
    await loadNic(r, {
      onDeviceAdd(w, dev) {
        w.wdfIoQueueCreate(dev, {
          dispatch: 'parallel',
          defaultQueue: true,
          evtIoWrite(_q, request) {
            req = request;
            w.wdfRequestCompleteWithInformation(request, NtStatus.STATUS_SUCCESS, 60);
            w.wdfRequestCompleteWithInformation(request, NtStatus.STATUS_SUCCESS, 60);
          },
        });
      },
    });
    await r.wdf.startDevice(r.resources);
    const first = await r.wdf.submitWrite(undefined, frame(1));
    const report = await r.kernel.bugCheckReport;
    expect(first).toEqual({ status: 0, information: 60 });
    expect(report.code).toBe(BugCheckCode.WDF_VIOLATION);
    expect(report.parameters).toEqual([WdfViolation.WDF_INVALID_HANDLE, req, WdfTypeId.WDFREQUEST, 0]);
    expect(report.api).toBe('WdfRequestCompleteWithInformation');
    expect(report.message).toContain('completed');
  });

  it('when the driver crashes, the host waiting for its requests gets the bug check instead of hanging', async () => {
    r = makeWdfRig();
    await loadNic(r, {
      onDeviceAdd(w, dev) {
        w.wdfIoQueueCreate(dev, {
          dispatch: 'sequential',
          defaultQueue: true,
          evtIoWrite() {
            throw new TypeError('bad descriptor');
          },
        });
      },
    });
    await r.wdf.startDevice(r.resources);
    const results = await Promise.allSettled([r.wdf.submitWrite(undefined, frame(1)), r.wdf.submitWrite(undefined, frame(2))]);
    expect(results.map((x) => x.status)).toEqual(['rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason).toMatchObject({ code: BugCheckCode.SYSTEM_THREAD_EXCEPTION_NOT_HANDLED });
    await expect(r.wdf.submitWrite(undefined, frame(3))).rejects.toBe(r.kernel.stopped);
  });

  it('the driver cannot delete a request with WdfObjectDelete (WDF_OBJECT_ERROR)', async () => {
    r = makeWdfRig();
    await loadNic(r, {
      onDeviceAdd(w, dev) {
        w.wdfIoQueueCreate(dev, {
          dispatch: 'parallel',
          defaultQueue: true,
          evtIoWrite(_q, request) {
            w.wdfObjectDelete(request);
          },
        });
      },
    });
    await r.wdf.startDevice(r.resources);
    const pending = r.wdf.submitWrite(undefined, frame(1)).catch((e: unknown) => e);
    const report = await r.kernel.bugCheckReport;
    expect(report.parameters[0]).toBe(WdfViolation.WDF_OBJECT_ERROR);
    expect(await pending).toBe(r.kernel.stopped);
  });

  it('a read completed with more bytes than its buffer holds is WDF_REQUEST_FATAL_ERROR (INFORMATION_LENGTH_MISMATCH)', async () => {
    r = makeWdfRig();
    await loadNic(r, {
      onDeviceAdd(w, dev) {
        w.wdfIoQueueCreate(dev, {
          dispatch: 'parallel',
          defaultQueue: true,
          evtIoRead(_q, request) {
            w.wdfRequestCompleteWithInformation(request, NtStatus.STATUS_SUCCESS, 2000);
          },
        });
      },
    });
    await r.wdf.startDevice(r.resources);
    const pending = r.wdf.submitRead(undefined, new Uint8Array(1514));
    await expect(pending).rejects.toBe(r.kernel.stopped);
    const report = await r.kernel.bugCheckReport;
    expect(report.parameters.slice(0, 2)).toEqual([WdfViolation.WDF_REQUEST_FATAL_ERROR, WdfRequestFatalError.INFORMATION_LENGTH_MISMATCH]);
  });

  it('buffer retrieval fails with a status: no input buffer on a read, a buffer below the minimum is STATUS_BUFFER_TOO_SMALL', async () => {
    r = makeWdfRig();
    const statuses: number[] = [];
    await loadNic(r, {
      onDeviceAdd(w, dev) {
        w.wdfIoQueueCreate(dev, {
          dispatch: 'parallel',
          defaultQueue: true,
          evtIoRead(_q, request) {
            for (const f of [() => w.wdfRequestRetrieveInputBuffer(request), () => w.wdfRequestRetrieveOutputBuffer(request, 4096)]) {
              try {
                f();
              } catch (e) {
                statuses.push((e as WdfStatusError).status);
              }
            }
            w.wdfRequestComplete(request, NtStatus.STATUS_BUFFER_TOO_SMALL);
          },
        });
      },
    });
    await r.wdf.startDevice(r.resources);
    expect(await r.wdf.submitRead(undefined, new Uint8Array(1514))).toEqual({ status: NtStatus.STATUS_BUFFER_TOO_SMALL, information: 0 });
    expect(statuses).toEqual([NtStatus.STATUS_INVALID_DEVICE_REQUEST, NtStatus.STATUS_BUFFER_TOO_SMALL]);
  });

  it('pending reads wait in a manual queue; the DPC retrieves one and completes it with a received frame', async () => {
    r = makeWdfRig();
    let reads = 0 as WDFQUEUE;
    const received = frame(0xab, 70);
    await loadNic(r, {
      onDeviceAdd(w, dev) {
        w.wdfIoQueueCreate(dev, {
          dispatch: 'parallel',
          defaultQueue: true,
          evtIoRead(_q, request) {
            w.wdfRequestForwardToIoQueue(request, reads);
          },
        });
        reads = w.wdfIoQueueCreate(dev, { dispatch: 'manual' });
      },
      interrupt: {
        evtInterruptDpc() {
          const req = r.wdf.wdfIoQueueRetrieveNextRequest(reads);
          if (!req) return;
          const out = r.wdf.wdfRequestRetrieveOutputBuffer(req, received.length);
          out.set(received);
          r.wdf.wdfRequestCompleteWithInformation(req, NtStatus.STATUS_SUCCESS, received.length);
        },
      },
    });
    await r.wdf.startDevice(r.resources);
    const buf = new Uint8Array(1514);
    const pending = r.wdf.submitRead(undefined, buf);
    let settled = false;
    void pending.then(() => {
      settled = true;
    });
    await r.kernel.idle();
    expect(settled).toBe(false);
    r.device.raise(0x80);
    const done = await pending;
    expect(done).toEqual({ status: 0, information: 70 });
    expect(buf.subarray(0, 70)).toEqual(received);
    const none = await atPassive(r, () => r.wdf.wdfIoQueueRetrieveNextRequest(reads));
    expect(none).toBeNull();
  });

  it('a power-managed queue holds requests until the device is in D0, and stops presenting once it leaves D0', async () => {
    r = makeWdfRig();
    const presented: string[] = [];
    await loadNic(r, {
      onDeviceAdd(w, dev) {
        w.wdfIoQueueCreate(dev, {
          dispatch: 'parallel',
          defaultQueue: true,
          evtIoWrite(_q, req) {
            presented.push(`write while ${r.wdf.deviceState()}`);
            w.wdfRequestComplete(req, 0);
          },
        });
      },
    });
    const early = r.wdf.submitWrite(undefined, frame(1));
    await r.kernel.idle();
    expect(presented).toEqual([]);
    await r.wdf.startDevice(r.resources);
    await early;
    await r.wdf.stopDevice();
    const late = r.wdf.submitWrite(undefined, frame(2));
    await r.kernel.idle();
    expect(presented).toEqual(['write while started']);
    await r.wdf.removeDevice();
    expect(await late).toEqual({ status: NtStatus.STATUS_CANCELLED, information: 0 });
  });

  it('with synchronization scope device, EvtIoWrite runs at DISPATCH_LEVEL holding the device callback lock that serializes the DPC', async () => {
    r = makeWdfRig();
    const seen: string[] = [];
    let device = 0 as WDFDEVICE;
    const lockOwner = (): unknown => (r.wdf.handles.peek(device) as unknown as { callbackLock: { lock: { owner: unknown } } }).callbackLock.lock.owner;
    ({ device } = await loadNic(r, {
      deviceAttributes: { synchronizationScope: 'device' },
      interrupt: {
        automaticSerialization: true,
        evtInterruptDpc() {
          seen.push(`dpc holds lock: ${lockOwner() === r.kernel.current()}`);
        },
      },
      onDeviceAdd(w, dev) {
        w.wdfIoQueueCreate(dev, {
          dispatch: 'parallel',
          defaultQueue: true,
          async evtIoWrite(_q, req) {
            seen.push(`write at ${r.kernel.currentIrql()} holds lock: ${lockOwner() === r.kernel.current()}`);
            r.device.raise(0x80);
            // The ISR runs at this preemption point (DIRQL > DISPATCH); its DPC must wait for the lock.
            await w.getContext<{ regs: { read32(o: number): Promise<number> } }>(dev).regs.read32(0x8);
            seen.push('write done');
            w.wdfRequestComplete(req, 0);
          },
        });
      },
    }));
    await r.wdf.startDevice(r.resources);
    await r.wdf.submitWrite(undefined, frame(1));
    await r.kernel.quiesce();
    expect(seen).toEqual([`write at ${Irql.DISPATCH_LEVEL} holds lock: true`, 'write done', 'dpc holds lock: true']);
  });

  it('request objects are pooled: a thousand writes one after the other create only a few', async () => {
    r = makeWdfRig();
    await loadNic(r, {
      onDeviceAdd(w, dev) {
        w.wdfIoQueueCreate(dev, {
          dispatch: 'sequential',
          defaultQueue: true,
          evtIoWrite(_q, req, len) {
            w.wdfRequestCompleteWithInformation(req, 0, len);
          },
        });
      },
    });
    await r.wdf.startDevice(r.resources);
    const f = frame(1);
    for (let i = 0; i < 1000; i++) await r.wdf.submitWrite(undefined, f);
    expect(r.wdf.requestPool.created).toBeLessThanOrEqual(2);
    expect(r.wdf.handles.size).toBeLessThan(10);
  });

  it('submitWriteNotify reports the completion through the callback with the frame and the tag; a crash reaches it too', async () => {
    r = makeWdfRig();
    await loadNic(r, {
      onDeviceAdd(w, dev) {
        w.wdfIoQueueCreate(dev, {
          dispatch: 'sequential',
          defaultQueue: true,
          evtIoWrite(_q, req, len) {
            if (len === 13) throw new RangeError('odd frame');
            w.wdfRequestCompleteWithInformation(req, NtStatus.STATUS_SUCCESS, len);
          },
        });
      },
    });
    await r.wdf.startDevice(r.resources);
    const seen: unknown[] = [];
    const f = frame(5, 64);
    const done = (status: number, info: number, buffer: Uint8Array, tag: string, crash: unknown): void => {
      seen.push({ status, info, same: buffer === f, tag, crashed: crash !== undefined });
    };
    r.wdf.submitWriteNotify(undefined, f, done, 'first');
    await r.kernel.idle();
    r.wdf.submitWriteNotify(undefined, frame(1, 13), done, 'second');
    await r.kernel.bugCheckReport;
    expect(seen).toEqual([
      { status: 0, info: 64, same: true, tag: 'first', crashed: false },
      { status: 0, info: 0, same: false, tag: 'second', crashed: true },
    ]);
  });

  it('a request type with no callback is failed by the framework with STATUS_INVALID_DEVICE_REQUEST', async () => {
    r = makeWdfRig();
    await loadNic(r, {
      onDeviceAdd(w, dev) {
        w.wdfIoQueueCreate(dev, {
          dispatch: 'parallel',
          defaultQueue: true,
          evtIoWrite(_q, req) {
            w.wdfRequestComplete(req, 0);
          },
        });
      },
    });
    await r.wdf.startDevice(r.resources);
    expect(await r.wdf.submitRead(undefined, new Uint8Array(10))).toEqual({ status: NtStatus.STATUS_INVALID_DEVICE_REQUEST, information: 0 });
  });

  it('requests can be presented at DISPATCH_LEVEL (a send from DISPATCH)', async () => {
    r = makeWdfRig();
    let irql = -1;
    await loadNic(r, {
      onDeviceAdd(w, dev) {
        w.wdfIoQueueCreate(dev, {
          dispatch: 'parallel',
          defaultQueue: true,
          evtIoWrite(_q, req) {
            irql = r.kernel.currentIrql();
            w.wdfRequestComplete(req, 0);
          },
        });
      },
    });
    await r.wdf.startDevice(r.resources);
    await r.wdf.submitWrite(undefined, frame(1), Irql.DISPATCH_LEVEL);
    expect(irql).toBe(Irql.DISPATCH_LEVEL);
  });
});

describe('requests across a power-down', () => {
  it('stopDevice waits for a request the driver owns to be completed before the device leaves D0', async () => {
    r = makeWdfRig();
    const held: WDFREQUEST[] = [];
    await loadNic(r, {
      onDeviceAdd(w, dev) {
        w.wdfIoQueueCreate(dev, {
          dispatch: 'parallel',
          defaultQueue: true,
          evtIoWrite(_q, req) {
            held.push(req);
          },
        });
      },
    });
    await r.wdf.startDevice(r.resources);
    const write = r.wdf.submitWrite(undefined, frame(1));
    await r.kernel.idle();
    const delays = vi.spyOn(r.kernel, 'delayExecution');
    const stopping = r.wdf.stopDevice();
    // The positive control: the stop has found the request still owned twice and waits between checks.
    await waitUntil('the stop to wait for the held request', () => delays.mock.calls.length >= 2);
    expect(r.events).not.toContain('EvtDeviceD0ExitPreInterruptsDisabled@0');
    r.events.push('driver completes the held write');
    await atPassive(r, () => r.wdf.wdfRequestComplete(held[0]!, NtStatus.STATUS_SUCCESS));
    await stopping;
    expect(await write).toEqual({ status: 0, information: 0 });
    const i = r.events.indexOf('driver completes the held write');
    expect(i).toBeGreaterThan(0);
    expect(r.events.indexOf('EvtDeviceD0ExitPreInterruptsDisabled@0')).toBeGreaterThan(i);
  });

  it('EvtIoStop with WdfRequestStopAcknowledge(requeue) gives the request back; it is presented again after the restart', async () => {
    r = makeWdfRig();
    const presented: string[] = [];
    await loadNic(r, {
      onDeviceAdd(w, dev) {
        w.wdfIoQueueCreate(dev, {
          dispatch: 'sequential',
          defaultQueue: true,
          evtIoWrite(_q, req) {
            presented.push(`presented while ${w.deviceState()}`);
            if (presented.length > 1) w.wdfRequestComplete(req, NtStatus.STATUS_SUCCESS);
          },
          evtIoStop(_q, req, action) {
            presented.push(`EvtIoStop ${action} at ${r.kernel.currentIrql()}`);
            w.wdfRequestStopAcknowledge(req, true);
          },
        });
      },
    });
    await r.wdf.startDevice(r.resources);
    const write = r.wdf.submitWrite(undefined, frame(1));
    await r.kernel.idle();
    await r.wdf.stopDevice();
    await r.wdf.startDevice(r.resources);
    expect(await write).toEqual({ status: 0, information: 0 });
    expect(presented).toEqual(['presented while started', 'EvtIoStop suspend at 0', 'presented while started']);
  });

  it('a driver that keeps a request without completing or acknowledging it stops the power-down: DRIVER_POWER_STATE_FAILURE', async () => {
    r = makeWdfRig({ powerDownTimeoutMs: 30 });
    await loadNic(r, {
      onDeviceAdd(w, dev) {
        w.wdfIoQueueCreate(dev, {
          dispatch: 'parallel',
          defaultQueue: true,
          evtIoWrite() {
            /* keeps it forever */
          },
        });
      },
    });
    await r.wdf.startDevice(r.resources);
    const write = r.wdf.submitWrite(undefined, frame(1)).catch((e: unknown) => e);
    await r.kernel.idle();
    await expect(r.wdf.stopDevice()).rejects.toMatchObject({ code: 0x9f, parameters: [0x3, r.wdf.devices[0], 0, 0] });
    expect(await write).toBe(r.kernel.stopped);
    expect(r.events).not.toContain('EvtDeviceD0ExitPreInterruptsDisabled@0');
  });
});
