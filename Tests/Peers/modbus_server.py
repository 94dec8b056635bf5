#!/usr/bin/env python3
"""Modbus peer for lampd's tests: a pymodbus 3.16.1 server with known values.

    modbus_server.py --tcp PORT            (PORT 0: pick a free port)
    modbus_server.py --rtu /dev/pts/N [--baud 9600] [--parity E]

Prints one line "ready tcp 127.0.0.1:PORT" or "ready rtu /dev/pts/N" on
stdout once it listens, then serves until killed or until stdin closes (so
it never outlives the test that started it).

Units 1 and 2 answer; every other unit id is ignored (no answer at all, like
a dead unit on a real bus). Both units hold the same map, except holding and
input register 0, which hold the unit id.

Address map (0-based wire addresses), identical in holding and input registers:

    0          unit id
    10         u16 2305            (scaled x0.1  -> 230.5)
    12-13      i32 -12345, ABCD    (scaled x0.01 -> -123.45)
    20-59      scratch, zeros (for write tests)
    100+16*k.. one block per word order k: 100 ABCD, 200 CDAB, 300 BADC, 400 DCBA
        +0  u16 51234
        +1  i16 -12345
        +2  u32 3000000000
        +4  i32 -123456789
        +6  f32 230.5
        +8  u64 12345678901234567890
        +12 f64 -9876.54321
    0-599 defined; 600 and above answer exception 02 (illegal data address)
    holding 590 answers exception 06 (server device busy) when read

Coils 0-99: coil i is on when i % 3 == 0.  Discrete inputs 0-99: on when i % 2 == 0.
Coil/discrete 100 and above answer exception 02.

Unit 5 is an energy meter laid out like an Eastron SDM120 (input registers,
float32, big-endian words): METER below, by address.

Unit 7 is a traffic-light cabinet's contact module: 16 coils and 16 discrete
inputs, 16 holding and 16 input registers (the controller's status word),
all zero at start; tests change them with `set`.

Unit 9 is the 40-channel pole of the shared benchmark (lampd-40ch.toml):
holding 0-39 = 20 float32 ABCD, channel k at 2k holds 100 + k/4; input
0-19 = 20 u16, channel k holds 1000 + k. Registers 40-99 hold zeros.

Unit 8 is a meter that refuses any read touching an undefined register
(exception 02), as some meters do for a block read over a hole: holding
registers 0-3, 10-13 and 20-21 are defined, register N holds 100 + N.

Commands on stdin, one per line, for tests of units that die and come back:
    mute N      unit N stops answering (silent, like a broken wire)
    unmute N    unit N answers again
    set N TABLE ADDRESS VALUE
                on unit 7: TABLE is coil, discrete, holding or input; VALUE is
                0/1 for bits, 0..65535 for registers; ADDRESS is 0..15
    requests N  prints "requests N COUNT": the requests unit N got so far
Each other command is acknowledged with "ok COMMAND" on stdout.

The registers for each word order are computed with Python's struct module
in a way that does not share code with lampd's Swift encoder:
    ABCD  pack big-endian,    read 16-bit words big-endian
    DCBA  pack little-endian, read 16-bit words big-endian
    BADC  pack big-endian,    read 16-bit words little-endian
    CDAB  pack big-endian,    read 16-bit words big-endian, reverse the words
"""

import argparse
import asyncio
import os
import struct
import sys
import threading

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import NoSuchIdException
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

VALUES = [  # (offset, struct format, value)
    (0, "H", 51234),
    (1, "h", -12345),
    (2, "I", 3000000000),
    (4, "i", -123456789),
    (6, "f", 230.5),
    (8, "Q", 12345678901234567890),
    (12, "d", -9876.54321),
]
ORDER_BASE = {"ABCD": 100, "CDAB": 200, "BADC": 300, "DCBA": 400}
REGISTERS = 600
BITS = 100
BUSY_ADDRESS = 590
METER_UNIT = 5
CABINET_UNIT = 7
CABINET_ITEMS = 16
BENCH_UNIT = 9
STRICT_UNIT = 8
STRICT_DEFINED = set(range(0, 4)) | set(range(10, 14)) | set(range(20, 22))
METER = {  # SDM120 input register address -> value
    0x0000: 231.2,   # voltage, V
    0x0006: 0.25,    # current, A
    0x000C: 55.0,    # active power, W
    0x001E: 0.96,    # power factor
    0x0046: 50.0,    # frequency, Hz
    0x0156: 1234.5,  # total active energy, kWh
}


def words(order, fmt, value):
    size = struct.calcsize(fmt)
    n = size // 2
    if order == "ABCD":
        return list(struct.unpack(f">{n}H", struct.pack(f">{fmt}", value)))
    if order == "DCBA":
        return list(struct.unpack(f">{n}H", struct.pack(f"<{fmt}", value)))
    if order == "BADC":
        return list(struct.unpack(f"<{n}H", struct.pack(f">{fmt}", value)))
    if order == "CDAB":
        return list(reversed(struct.unpack(f">{n}H", struct.pack(f">{fmt}", value))))
    raise ValueError(order)


def register_map(unit):
    regs = [0] * REGISTERS
    regs[0] = unit
    regs[10] = 2305
    regs[12:14] = words("ABCD", "i", -12345)
    for order, base in ORDER_BASE.items():
        for offset, fmt, value in VALUES:
            w = words(order, fmt, value)
            regs[base + offset : base + offset + len(w)] = w
    return regs


async def busy_action(function_code, start_address, address, count, current_registers, set_values):
    """Holding register 590 answers 'server device busy' when read."""
    if function_code == 3 and address <= BUSY_ADDRESS < address + count:
        return ExcCodes.DEVICE_BUSY
    return None


def device(unit):
    regs = register_map(unit)
    coils = [SimData(0, values=[i % 3 == 0 for i in range(BITS)], datatype=DataType.BITS)]
    discrete = [SimData(0, values=[i % 2 == 0 for i in range(BITS)], datatype=DataType.BITS)]
    holding = [SimData(0, values=list(regs), datatype=DataType.REGISTERS)]
    inputs = [SimData(0, values=list(regs), datatype=DataType.REGISTERS)]
    return SimDevice(unit, simdata=(coils, discrete, holding, inputs), action=busy_action)


def meter_device():
    regs = [0] * 400
    for address, value in METER.items():
        regs[address : address + 2] = words("ABCD", "f", value)
    bits = [SimData(0, values=[False] * 8, datatype=DataType.BITS)]
    holding = [SimData(0, values=[0] * 400, datatype=DataType.REGISTERS)]
    inputs = [SimData(0, values=regs, datatype=DataType.REGISTERS)]
    return SimDevice(METER_UNIT, simdata=(bits, bits, holding, inputs))


def cabinet_device():
    coils = [SimData(0, values=[False] * CABINET_ITEMS, datatype=DataType.BITS)]
    discrete = [SimData(0, values=[False] * CABINET_ITEMS, datatype=DataType.BITS)]
    holding = [SimData(0, values=[0] * CABINET_ITEMS, datatype=DataType.REGISTERS)]
    inputs = [SimData(0, values=[0] * CABINET_ITEMS, datatype=DataType.REGISTERS)]
    return SimDevice(CABINET_UNIT, simdata=(coils, discrete, holding, inputs))


def bench_device():
    holding = [0] * 100
    for k in range(20):
        holding[2 * k : 2 * k + 2] = words("ABCD", "f", 100 + k / 4)
    inputs = [1000 + k for k in range(20)] + [0] * 80
    bits = [SimData(0, values=[False] * 16, datatype=DataType.BITS)]
    return SimDevice(BENCH_UNIT, simdata=(bits, bits, [SimData(0, values=holding, datatype=DataType.REGISTERS)],
                                          [SimData(0, values=inputs, datatype=DataType.REGISTERS)]))


async def strict_action(function_code, start_address, address, count, current_registers, set_values):
    """Unit 8 refuses a read that touches an undefined register."""
    if any(a not in STRICT_DEFINED for a in range(address, address + count)):
        return ExcCodes.ILLEGAL_ADDRESS
    return None


def strict_device():
    regs = [100 + n for n in range(30)]
    bits = [SimData(0, values=[False] * 16, datatype=DataType.BITS)]
    return SimDevice(STRICT_UNIT, simdata=(bits, bits, [SimData(0, values=list(regs), datatype=DataType.REGISTERS)],
                                           [SimData(0, values=list(regs), datatype=DataType.REGISTERS)]),
                     action=strict_action)


class CabinetSetter:
    """Changes unit 7's data from the stdin thread, on the server's loop.

    Bits are kept here and always written as one block from address 0:
    pymodbus 3.16.1 places a lone bit written at address A by a different rule
    than a block read from address 0 (SimRuntime.get_bit_block), so a block
    write is the one way a later read sees it where it was put."""

    FUNCTION = {"coil": 5, "discrete": 2, "holding": 6, "input": 4}

    def __init__(self, loop, set_values):
        self.loop = loop
        self.set_values = set_values
        self.bits = {"coil": [False] * CABINET_ITEMS, "discrete": [False] * CABINET_ITEMS}

    def set(self, table, address, value):
        if table not in self.FUNCTION or not 0 <= address < CABINET_ITEMS:
            return False
        if table in self.bits:
            if value not in (0, 1):
                return False
            self.bits[table][address] = value == 1
            start, values = 0, list(self.bits[table])
        else:
            if not 0 <= value <= 0xFFFF:
                return False
            start, values = address, [value]
        future = asyncio.run_coroutine_threadsafe(
            self.set_values(CABINET_UNIT, self.FUNCTION[table], start, values), self.loop)
        return future.result(timeout=5) is None


def ignore_unknown_units(server, units, requests):
    """Make requests for other unit ids go unanswered.

    pymodbus 3.16.1 only honours ignore_missing_devices when the datastore
    raises NoSuchIdException; its SimDevice store raises something else and
    answers exception 04 instead. A dead unit on a real RS-485 line is
    silent, so raise the exception the request handler expects.
    """
    context = server.context
    get_values, set_values = context.async_getValues, context.async_setValues

    async def checked_get(device_id, *args, **kwargs):
        if device_id not in units:
            raise NoSuchIdException(f"unit {device_id} is absent")
        requests[device_id] = requests.get(device_id, 0) + 1
        return await get_values(device_id, *args, **kwargs)

    async def checked_set(device_id, *args, **kwargs):
        if device_id not in units:
            raise NoSuchIdException(f"unit {device_id} is absent")
        return await set_values(device_id, *args, **kwargs)

    context.async_getValues = checked_get
    context.async_setValues = checked_set
    return set_values


def serve_stdin(units, cabinet, requests):
    """Obey mute/unmute/set commands; when stdin closes, the test that started
    us died or finished: stop serving."""
    try:
        for line in sys.stdin:
            words_ = line.split()
            if (len(words_) == 5 and words_[0] == "set" and words_[1] == str(CABINET_UNIT)
                    and words_[3].isdigit() and words_[4].isdigit()):
                ok = cabinet.set(words_[2], int(words_[3]), int(words_[4]))
                print(f"ok {line.strip()}" if ok else f"error bad set {line.strip()!r}", flush=True)
            elif len(words_) == 2 and words_[0] == "requests" and words_[1].isdigit():
                print(f"requests {words_[1]} {requests.get(int(words_[1]), 0)}", flush=True)
            elif len(words_) == 2 and words_[0] in ("mute", "unmute") and words_[1].isdigit():
                unit = int(words_[1])
                if words_[0] == "mute":
                    units.discard(unit)
                else:
                    units.add(unit)
                print(f"ok {line.strip()}", flush=True)
            elif words_:
                print(f"error unknown command {line.strip()!r}", flush=True)
    except Exception:  # noqa: BLE001 - any failure means the parent is gone
        pass
    os._exit(0)


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--tcp", type=int, metavar="PORT")
    group.add_argument("--rtu", metavar="DEVICE")
    parser.add_argument("--baud", type=int, default=9600)
    parser.add_argument("--parity", default="E", choices=["N", "E", "O"])
    args = parser.parse_args()

    devices = [device(1), device(2), meter_device(), cabinet_device(), bench_device(), strict_device()]
    if args.tcp is not None:
        port = args.tcp
        if port == 0:
            import socket

            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        server = ModbusTcpServer(devices, address=("127.0.0.1", port), ignore_missing_devices=True)
        where = f"tcp 127.0.0.1:{port}"
    else:
        server = ModbusSerialServer(
            devices,
            framer=FramerType.RTU,
            port=args.rtu,
            baudrate=args.baud,
            parity=args.parity,
            ignore_missing_devices=True,
        )
        where = f"rtu {args.rtu}"
    units = {1, 2, METER_UNIT, CABINET_UNIT, BENCH_UNIT, STRICT_UNIT}
    requests = {}
    set_values = ignore_unknown_units(server, units, requests)
    cabinet = CabinetSetter(asyncio.get_running_loop(), set_values)
    await server.serve_forever(background=True)
    print(f"ready {where}", flush=True)
    threading.Thread(target=serve_stdin, args=(units, cabinet, requests), daemon=True).start()
    await server.serving


if __name__ == "__main__":
    asyncio.run(main())
