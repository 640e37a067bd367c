"""What one lab run costs the machine (issue 19, "the partition lab's cost"; docs/partitions.md,
"What a run costs"): per site, the CPU time (user + system) and the peak resident memory of the processes living in the site's namespace,
and the wall time of each phase of `scripts/lab run` (up, scenario, down).

A thread reads /proc every second: a process belongs to a site when its network namespace
(/proc/PID/ns/net) is the site's (/run/netns/folab-SITE). For each process it keeps the
CPU time of its last reading, so one that ends during the run (a killed server, the
shoppers at the end) counts up to its last reading (at most a second short), and a process that lives less than a second (a `mariadb-binlog`
run of the actuator, the lab's own `mariadb` queries) may not count at all. The memory
is the largest sum of VmRSS over the site's processes in one reading (they run side by
side), so a short peak between two readings is missed. Python standard library only."""
import os
import resource
import threading
import time

from common import PREFIX, SITES

TICK = os.sysconf("SC_CLK_TCK")


def _ns_inode(site):
    try:
        return os.stat(f"/run/netns/{PREFIX}{site}").st_ino
    except OSError:
        return None


def _read(pid):
    """(start time, CPU seconds (utime + stime), VmRSS kB) of a process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # after the name: state(0) ... utime(11) stime(12) ... starttime(19)
        cpu = (int(fields[11]) + int(fields[12])) / TICK
        rss = 0
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                    break
        return int(fields[19]), cpu, rss
    except (OSError, IndexError, ValueError):
        return None


class CostMeter:
    def __init__(self, interval=1.0):
        self.interval = interval
        self.inodes = {}
        self.procs = {}  # (pid, start) -> {"site", "cpu0", "cpu"}
        self.peak_kb = {s: 0 for s in SITES}
        self.seen = {s: set() for s in SITES}
        self.stop_ev = threading.Event()
        self.thread = None
        self.phases = {}
        self.t_start = None
        self.self_cpu0 = None

    def _site_of(self, pid):
        try:
            link = os.readlink(f"/proc/{pid}/ns/net")  # "net:[4026532301]"
            ino = int(link.split("[", 1)[1].rstrip("]"))
        except (OSError, IndexError, ValueError):
            return None
        return self.inodes.get(ino)

    def sample(self, first=False):
        self.inodes = {i: s for s in SITES if (i := _ns_inode(s)) is not None}
        if not self.inodes:
            return
        rss = {s: 0 for s in SITES}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            site = self._site_of(d)
            if site is None:
                continue
            r = _read(d)
            if r is None:
                continue
            start, cpu, kb = r
            key = (int(d), start)
            p = self.procs.get(key)
            if p is None:
                # A process already running when the meter starts counts from there on.
                p = self.procs[key] = {"site": site, "cpu0": cpu if first else 0.0, "cpu": cpu, "name": _name(d)}
            p["cpu"] = cpu
            rss[site] += kb
            self.seen[site].add(key)
        for s, kb in rss.items():
            self.peak_kb[s] = max(self.peak_kb[s], kb)

    def _loop(self):
        while not self.stop_ev.wait(self.interval):
            try:
                self.sample()
            except Exception:
                pass  # a reading that failed is skipped; the next one counts

    def start(self):
        """From here on (the lab is up): the scenario's share. The CPU the site's processes
        used before (bringing the lab up) is kept apart, as `up`."""
        self.t_start = time.time()
        self.self_cpu0 = _self_cpu()
        self.sample(first=True)
        self.up_cpu = {s: round(sum(p["cpu0"] for p in self.procs.values() if p["site"] == s), 2) for s in SITES}
        self.up_rss = dict(self.peak_kb)
        self.peak_kb = {s: 0 for s in SITES}
        self.sample()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def stop(self):
        """Stops the readings (before the lab goes down); returns the scenario's figures."""
        if self.thread is None:
            return None
        try:
            self.sample()
        except Exception:
            pass
        self.stop_ev.set()
        self.thread.join(timeout=5)
        wall = time.time() - self.t_start
        sites = {}
        for s in SITES:
            cpu = sum(p["cpu"] - p["cpu0"] for p in self.procs.values() if p["site"] == s)
            by_name = {}
            for p in self.procs.values():
                if p["site"] == s:
                    by_name[p["name"]] = by_name.get(p["name"], 0.0) + p["cpu"] - p["cpu0"]
            top = sorted(by_name.items(), key=lambda kv: -kv[1])
            sites[s] = {"cpu_seconds": round(cpu, 2), "cores": round(cpu / wall, 3) if wall > 0 else None,
                        "cpu_seconds_by_process": {k: round(v, 2) for k, v in top if v >= 0.01},
                        "peak_rss_mb": round(self.peak_kb[s] / 1024, 1), "processes": len(self.seen[s]),
                        "up_cpu_seconds": self.up_cpu.get(s), "up_rss_mb": round(self.up_rss.get(s, 0) / 1024, 1)}
        total = sum(v["cpu_seconds"] for v in sites.values())
        return {"sites": sites, "scenario_seconds": round(wall, 1),
                "cpu_seconds_all_sites": round(total, 2),
                "peak_rss_mb_all_sites": round(sum(v["peak_rss_mb"] for v in sites.values()), 1),
                "driver_cpu_seconds": round(_self_cpu() - self.self_cpu0, 2)}


def _name(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip() or "?"
    except OSError:
        return "?"


def _self_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
