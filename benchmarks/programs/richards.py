"""An operating-system task scheduler in the style of Richards: an idle task, two workers,
two handlers and two devices pass packets through a priority queue of task objects.
Object-oriented and branchy: method calls, attribute reads, small objects."""

IDLE, WORKER, HANDLER_A, HANDLER_B, DEVICE_A, DEVICE_B = range(6)


class Packet:
    def __init__(self, link, ident, kind):
        self.link, self.ident, self.kind = link, ident, kind
        self.datum = 0
        self.data = [0, 0, 0, 0]

    def append_to(self, queue):
        self.link = None
        if queue is None:
            return self
        tail = queue
        while tail.link is not None:
            tail = tail.link
        tail.link = self
        return queue


class Task:
    def __init__(self, scheduler, ident, priority, queue):
        self.scheduler, self.ident, self.priority = scheduler, ident, priority
        self.queue = queue
        self.held = False
        self.waiting = queue is None
        self.count = 0

    def runnable(self):
        return not self.held and (not self.waiting or self.queue is not None)

    def take_packet(self):
        packet, self.queue = self.queue, self.queue.link
        self.waiting = False
        return packet

    def step(self, packet):
        raise NotImplementedError


class IdleTask(Task):
    def __init__(self, scheduler, ident, priority, queue):
        super().__init__(scheduler, ident, priority, queue)
        self.waiting = False  # the idle task runs whenever nothing else can
        self.seed, self.left = 1, 0

    def step(self, packet):
        self.left -= 1
        if self.left <= 0:
            return self.scheduler.hold_self()
        if self.seed & 1 == 0:
            self.seed >>= 1
            return self.scheduler.release(DEVICE_A)
        self.seed = (self.seed >> 1) ^ 0xD008
        return self.scheduler.release(DEVICE_B)


class WorkerTask(Task):
    def __init__(self, scheduler, ident, priority, queue):
        super().__init__(scheduler, ident, priority, queue)
        self.destination, self.letter = HANDLER_A, 0

    def step(self, packet):
        if packet is None:
            return self.scheduler.wait()
        self.destination = HANDLER_B if self.destination == HANDLER_A else HANDLER_A
        packet.ident = self.destination
        packet.datum = 0
        for i in range(4):
            self.letter = self.letter % 26 + 1
            packet.data[i] = self.letter
        return self.scheduler.queue_packet(packet)


class HandlerTask(Task):
    def __init__(self, scheduler, ident, priority, queue):
        super().__init__(scheduler, ident, priority, queue)
        self.work, self.device = None, None

    def step(self, packet):
        if packet is not None:
            if packet.kind == "work":
                self.work = packet.append_to(self.work)
            else:
                self.device = packet.append_to(self.device)
        if self.work is not None:
            work = self.work
            if work.datum >= 4:
                self.work = work.link
                return self.scheduler.queue_packet(work)
            if self.device is not None:
                device, self.device = self.device, self.device.link
                device.datum = work.data[work.datum]
                work.datum += 1
                return self.scheduler.queue_packet(device)
        return self.scheduler.wait()


class DeviceTask(Task):
    def __init__(self, scheduler, ident, priority, queue):
        super().__init__(scheduler, ident, priority, queue)
        self.pending = None

    def step(self, packet):
        if packet is None:
            if self.pending is None:
                return self.scheduler.wait()
            packet, self.pending = self.pending, None
            return self.scheduler.queue_packet(packet)
        self.pending = packet
        self.scheduler.output += packet.datum
        return self.scheduler.hold_self()


class Scheduler:
    def __init__(self, count):
        self.tasks = {}
        self.current = None
        self.output = 0
        self.hold_count = self.queue_count = 0
        idle = IdleTask(self, IDLE, 0, None)
        idle.left = count
        self.add(idle)
        work = Packet(Packet(None, 0, "work"), 0, "work")
        self.add(WorkerTask(self, WORKER, 1000, work))
        for ident, device, priority in ((HANDLER_A, DEVICE_A, 2000), (HANDLER_B, DEVICE_B, 3000)):
            queue = Packet(Packet(Packet(None, device, "device"), device, "device"), device, "device")
            self.add(HandlerTask(self, ident, priority, queue))
        self.add(DeviceTask(self, DEVICE_A, 4000, None))
        self.add(DeviceTask(self, DEVICE_B, 5000, None))
        self.order = sorted(self.tasks.values(), key=lambda t: -t.priority)

    def add(self, task):
        self.tasks[task.ident] = task

    def next_task(self):
        for task in self.order:
            if task.runnable():
                return task
        return None

    def schedule(self):
        task = self.next_task()
        while task is not None:
            self.current = task
            packet = task.take_packet() if task.waiting and task.queue is not None else None
            task = task.step(packet) or self.next_task()
        return self.hold_count, self.queue_count, self.output

    def hold_self(self):
        self.hold_count += 1
        self.current.held = True
        return self.next_task()

    def release(self, ident):
        task = self.tasks[ident]
        task.held = False
        return task if task.priority > self.current.priority else self.current

    def wait(self):
        self.current.waiting = True
        return self.next_task()

    def queue_packet(self, packet):
        task = self.tasks[packet.ident]
        self.queue_count += 1
        packet.link, packet.ident = None, self.current.ident
        task.queue = packet.append_to(task.queue)
        if task.priority > self.current.priority and task.queue is packet:
            return task
        return self.current


def run():
    return Scheduler(3000).schedule()


EXPECTED = None
EXPECTED = run()
