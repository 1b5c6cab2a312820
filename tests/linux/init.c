// SPDX-License-Identifier: MIT
//
// Fief's Linux guest init: the first user program of the test kernel (scripts/build-linux).
// Built with the kernel's own tools/include/nolibc (no C library). It checks what a kernel
// relies on from the machine: /proc/cpuinfo and /proc/interrupts, fork/exec/wait, pipes,
// signals, nanosleep against the RTC and the timer, mmap of anonymous and file pages, a few
// MiB of memory traffic with a checksum, every hart running a task, a deliberate SIGSEGV
// caught by a child; on a kernel with the FPU (rv64), two processes whose FP registers and
// fcsr survive being switched against each other on one hart; with a virtio disk (/dev/vda,
// ext2), a file read, written, synced and read back; with virtio-rng, /dev/hwrng read; with
// virtio-net (eth0), a UDP datagram echoed by the host's end of the link; then it powers the
// machine off.
//
// Every line it prints starts with "init: " and is the same on every machine that runs the
// kernel correctly (no timings, no addresses), so the host tests compare these lines between
// Fief and QEMU. The last line is "init: all checks passed" or "init: FAILED (N checks)".
//
// rv32 Linux has only the 64-bit-time system calls (clock_gettime64, ...) and no wait4, so
// those are called directly with my_syscallN (rv64's clock_gettime takes the same 64-bit
// timespec); nolibc covers the rest.

#include <linux/reboot.h>
#include <linux/rtc.h>
#include <linux/mman.h>

static int failures;

#define SAY(...) printf("init: " __VA_ARGS__)
#define CHECK(cond, ...)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                                 \
			failures++;                                                                \
			printf("init: FAIL (init.c:%d) ", __LINE__);                               \
			printf(__VA_ARGS__);                                                       \
			printf("\n");                                                              \
		}                                                                              \
	} while (0)

// ---- raw system calls rv32 needs --------------------------------------------------------

#ifdef __NR_clock_gettime64
#define NR_CLOCK_GETTIME __NR_clock_gettime64
#define NR_CLOCK_NANOSLEEP __NR_clock_nanosleep_time64
#else
#define NR_CLOCK_GETTIME __NR_clock_gettime
#define NR_CLOCK_NANOSLEEP __NR_clock_nanosleep
#endif

// No 64-bit division below: there is no libgcc for rv32 in Debian's cross compiler.
struct ktimespec64 {
	long long tv_sec;
	long long tv_nsec;
};

// Milliseconds on `clock` (wraps after 49 days; differences are what is used).
static unsigned int now_ms(int clock)
{
	struct ktimespec64 ts;
	if (my_syscall2(NR_CLOCK_GETTIME, clock, &ts) != 0)
		return 0;
	return (unsigned int)ts.tv_sec * 1000u + (unsigned int)ts.tv_nsec / 1000000u;
}

static int sleep_ms(unsigned int ms)
{
	struct ktimespec64 ts = { ms / 1000u, (ms % 1000u) * 1000000u };
	return my_syscall4(NR_CLOCK_NANOSLEEP, 1 /* CLOCK_MONOTONIC */, 0, &ts, 0);
}

static __attribute__((noreturn)) void _exit(int code)
{
	my_syscall1(__NR_exit, code);
	for (;;)
		;
}

static const char *strstr(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (strncmp(hay, needle, n) == 0)
			return hay;
	return NULL;
}

// The kernel's struct sigaction on riscv (no sa_restorer: the vDSO returns from handlers).
struct ksigaction {
	void (*handler)(int);
	unsigned long flags;
	unsigned long mask[2];
};

static int set_handler(int sig, void (*handler)(int))
{
	struct ksigaction act = { handler, 0, { 0, 0 } };
	return my_syscall4(__NR_rt_sigaction, sig, &act, 0, 8);
}

// waitid(P_PID, pid, &info, WEXITED): returns "exit code" >= 0, or -(signal number).
static int wait_child(int pid)
{
	int info[32];
	long r;
	memset(info, 0, sizeof(info));
	// A signal handled meanwhile interrupts the wait (no SA_RESTART): wait again.
	do
		r = my_syscall5(__NR_waitid, 1 /* P_PID */, pid, info, 4 /* WEXITED */, 0);
	while (r == -4 /* EINTR */);
	if (r != 0)
		return -1000;
	// siginfo: signo, errno, code, then the union (pid, uid, status), which 64-bit kernels
	// align to 8 bytes.
	const int status = sizeof(long) == 8 ? 6 : 5;
	if (info[2] == 1 /* CLD_EXITED */)
		return info[status];
	return -info[status];
}

static unsigned int lcg(unsigned int *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s;
}

// ---- the checks --------------------------------------------------------------------------

static int read_file(const char *path, char *buf, int size)
{
	int fd = open(path, O_RDONLY, 0);
	int n = 0, r;
	if (fd < 0)
		return -1;
	while (n < size - 1 && (r = read(fd, buf + n, size - 1 - n)) > 0)
		n += r;
	buf[n] = 0;
	close(fd);
	return n;
}

static int count(const char *hay, const char *needle)
{
	int c = 0;
	const char *p = hay;
	while ((p = strstr(p, needle)) != NULL) {
		c++;
		p++;
	}
	return c;
}

static char big[16384];

static int check_proc(void)
{
	int n = read_file("/proc/cpuinfo", big, sizeof(big));
	CHECK(n > 0, "/proc/cpuinfo unreadable");
	int cpus = count(big, "processor\t:");
	CHECK(cpus >= 1, "no processor in /proc/cpuinfo");
	// The paging mode of the first hart (sv32; sv39, sv48 or sv57), the same on every hart.
	char mmu[8] = "none";
	const char *m = strstr(big, "mmu\t\t: ");
	if (m) {
		int i = 0;
		for (m += strlen("mmu\t\t: "); i < 7 && ((m[i] >= 'a' && m[i] <= 'z') || (m[i] >= '0' && m[i] <= '9')); i++)
			mmu[i] = m[i];
		mmu[i] = 0;
	}
	char line[24] = "mmu\t\t: ";
	strlcat(line, mmu, sizeof(line));
	CHECK(count(big, line) == cpus, "mmu is not %s on every hart", mmu);
	SAY("cpuinfo: %d harts, mmu %s\n", cpus, mmu);

	n = read_file("/proc/interrupts", big, sizeof(big));
	CHECK(n > 0, "/proc/interrupts unreadable");
	CHECK(strstr(big, "riscv-timer") != NULL, "no riscv-timer line in /proc/interrupts");
	CHECK(strstr(big, "ttyS0") != NULL, "no ttyS0 line in /proc/interrupts");
	if (cpus > 1)
		CHECK(strstr(big, "IPI") != NULL, "no IPI lines in /proc/interrupts");
	SAY("interrupts: timer, uart%s\n", cpus > 1 ? ", ipi" : "");
	return cpus;
}

static void check_fork_exec(void)
{
	int pid = fork();
	if (pid == 0) {
		char *argv[] = { "/init", "exec-child", NULL };
		char *envp[] = { NULL };
		execve("/init", argv, envp);
		_exit(99);
	}
	CHECK(pid > 0, "fork failed");
	int code = wait_child(pid);
	CHECK(code == 42, "exec child exited with %d, not 42", code);
	SAY("fork/exec/wait: child exit code %d\n", code);
}

static void check_pipe(void)
{
	int fds[2];
	CHECK(pipe(fds) == 0, "pipe failed");
	int pid = fork();
	if (pid == 0) {
		unsigned int s = 1, sum = 0;
		close(fds[0]);
		for (int i = 0; i < 64; i++) {
			unsigned int chunk[256];
			for (int j = 0; j < 256; j++) {
				chunk[j] = lcg(&s);
				sum += chunk[j];
			}
			if (write(fds[1], chunk, sizeof(chunk)) != sizeof(chunk))
				_exit(1);
		}
		close(fds[1]);
		_exit(0);
	}
	close(fds[1]);
	unsigned int s = 1, sum = 0, bad = 0, words = 0, w;
	int got = 0;
	unsigned char *wp = (unsigned char *)&w;
	int r;
	while ((r = read(fds[0], big, sizeof(big))) > 0) {
		for (int i = 0; i < r; i++) {
			wp[got++] = big[i];
			if (got == 4) {
				got = 0;
				words++;
				sum += w;
				bad += w != lcg(&s);
			}
		}
	}
	close(fds[0]);
	CHECK(wait_child(pid) == 0, "pipe writer failed");
	CHECK(words == 64 * 256 && bad == 0, "pipe: %u words, %u wrong", words, bad);
	SAY("pipe: %u bytes through a pipe, checksum %08x\n", words * 4, sum);
}

static volatile int got_signal;
static void on_usr1(int sig) { got_signal = sig; }

static void check_signals(void)
{
	CHECK(set_handler(10 /* SIGUSR1 */, on_usr1) == 0, "rt_sigaction failed");
	kill(getpid(), 10);
	CHECK(got_signal == 10, "SIGUSR1 handler did not run");
	// A signal from another process, delivered while we sleep.
	got_signal = 0;
	int parent = getpid();
	int pid = fork();
	if (pid == 0) {
		kill(parent, 10);
		_exit(0);
	}
	CHECK(wait_child(pid) == 0, "signal sender failed");
	for (int i = 0; i < 100 && !got_signal; i++)
		sleep_ms(1);
	CHECK(got_signal == 10, "SIGUSR1 from a child not delivered");
	SAY("signals: handler ran for own and child's SIGUSR1\n");
}

static int rtc_seconds(int fd)
{
	struct rtc_time t;
	if (ioctl(fd, RTC_RD_TIME, &t) != 0)
		return -1;
	return ((t.tm_yday * 24 + t.tm_hour) * 60 + t.tm_min) * 60 + t.tm_sec;
}

static void check_sleep(void)
{
	int rtc = open("/dev/rtc0", O_RDONLY, 0);
	int r0 = rtc >= 0 ? rtc_seconds(rtc) : -1;
	unsigned int m0 = now_ms(1), w0 = now_ms(0);
	CHECK(sleep_ms(2100) == 0, "clock_nanosleep failed");
	unsigned int m1 = now_ms(1), w1 = now_ms(0);
	int r1 = rtc >= 0 ? rtc_seconds(rtc) : -1;
	int dm = (int)(m1 - m0), dw = (int)(w1 - w0);
	CHECK(dm >= 2100 && dm < 4000, "slept 2100 ms by the monotonic clock, measured %d ms", dm);
	CHECK(dw >= 2000 && dw < 4000, "slept 2100 ms, wall clock moved %d ms", dw);
	if (rtc >= 0) {
		// One-second resolution: 2.1 s reads as 2 or 3 s (a little more on a slow host).
		CHECK(r0 >= 0 && r1 - r0 >= 2 && r1 - r0 <= 4, "RTC moved %d s in a 2.1 s sleep", r1 - r0);
		SAY("nanosleep: 2.1 s by the timer, the wall clock and the RTC\n");
		close(rtc);
	} else {
		SAY("nanosleep: 2.1 s by the timer and the wall clock (no /dev/rtc0)\n");
	}
}

static void check_mmap(void)
{
	// Anonymous pages: 1 MiB, touched, checked, unmapped.
	unsigned int *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED, "anonymous mmap failed");
	if (p == MAP_FAILED)
		return;
	for (int i = 0; i < (1 << 18); i++)
		CHECK(p[i] == 0, "anonymous page not zero");
	for (int i = 0; i < (1 << 18); i += 1024)
		p[i] = i;
	int bad = 0;
	for (int i = 0; i < (1 << 18); i += 1024)
		bad += p[i] != (unsigned int)i;
	CHECK(bad == 0, "anonymous pages lost %d writes", bad);
	munmap(p, 1 << 20);

	// File pages: write a file, map it shared, change it through the mapping, read it back.
	int fd = open("/mapped", O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0, "cannot create /mapped");
	for (int i = 0; i < 4; i++) {
		memset(big, 'a' + i, 4096);
		CHECK(write(fd, big, 4096) == 4096, "short write to /mapped");
	}
	char *f = mmap(NULL, 16384, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(f != MAP_FAILED, "file mmap failed");
	if (f == MAP_FAILED)
		return;
	CHECK(f[0] == 'a' && f[4096] == 'b' && f[16383] == 'd', "mapped file has wrong contents");
	f[8192] = 'X';
	CHECK(my_syscall3(__NR_msync, f, 16384, MS_SYNC) == 0, "msync failed");
	munmap(f, 16384);
	close(fd);
	// Read it back through a new descriptor (rv32 has no plain lseek for nolibc to call).
	CHECK(read_file("/mapped", big, 8195) == 8194 && big[8192] == 'X' && big[8193] == 'c',
	      "write through the mapping lost");

	// A read-only private mapping of our own executable.
	fd = open("/init", O_RDONLY, 0);
	char *e = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(e != MAP_FAILED && e[0] == 0x7f && e[1] == 'E' && e[2] == 'L' && e[3] == 'F',
	      "mapping /init does not show the ELF magic");
	close(fd);
	SAY("mmap: anonymous and file pages\n");
}

static void check_memory(void)
{
	const int words = (4 << 20) / 4;
	unsigned int *a = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned int *b = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(a != MAP_FAILED && b != MAP_FAILED, "4 MiB mmap failed");
	if (a == MAP_FAILED || b == MAP_FAILED)
		return;
	unsigned int s = 12345, sum = 0;
	for (int i = 0; i < words; i++)
		a[i] = lcg(&s);
	memcpy(b, a, 4 << 20);
	// Walk b in a stride that crosses pages on every access.
	for (int k = 0; k < 1024; k++)
		for (int i = k; i < words; i += 1024)
			sum = (sum << 1 | sum >> 31) ^ b[i];
	s = 12345;
	int bad = 0;
	for (int i = 0; i < words; i++)
		bad += a[i] != lcg(&s);
	CHECK(bad == 0, "%d words of 4 MiB changed", bad);
	SAY("memory: 8 MiB written, copied and read, checksum %08x\n", sum);
	munmap(a, 4 << 20);
	munmap(b, 4 << 20);
}

static void check_harts(int cpus)
{
	// One child per hart, pinned to it, reports where it ran.
	int ok = 0;
	for (int cpu = 0; cpu < cpus; cpu++) {
		int pid = fork();
		if (pid == 0) {
			unsigned long mask = 1ul << cpu;
			if (my_syscall3(__NR_sched_setaffinity, 0, sizeof(mask), &mask) != 0)
				_exit(101);
			unsigned int s = cpu, x = 0;
			for (int i = 0; i < 100000; i++)
				x += lcg(&s);
			unsigned int where = 0xffff;
			my_syscall3(__NR_getcpu, &where, 0, 0);
			_exit(where == (unsigned int)cpu ? 0 : 102 + (x & 0));
		}
		int code = wait_child(pid);
		CHECK(code == 0, "task pinned to hart %d: code %d", cpu, code);
		ok += code == 0;
	}
	SAY("harts: a task ran on each of %d harts\n", ok);
}

// Not a constant, so the compiler does not see the deliberate fault.
static volatile unsigned long bad_address = 16;

static void on_segv(int sig)
{
	static const char msg[] = "init: child caught SIGSEGV\n";
	write(1, msg, sizeof(msg) - 1);
	_exit(7);
}

static void check_segv(void)
{
	int pid = fork();
	if (pid == 0) {
		set_handler(11, on_segv);
		*(volatile int *)bad_address = 1;
		_exit(1);
	}
	int code = wait_child(pid);
	CHECK(code == 7, "SIGSEGV child: %d, not 7", code);
	pid = fork();
	if (pid == 0) {
		*(volatile int *)bad_address = 1;
		_exit(1);
	}
	code = wait_child(pid);
	CHECK(code == -11, "unhandled SIGSEGV: %d, not killed by signal 11", code);
	SAY("segv: handled in one child, fatal in another\n");
}

// ---- FP context switching (kernels with the FPU) -------------------------------------------

#ifdef __riscv_flen
// A chain of dependent FP operations (fmadd, div, sqrt, conversions) whose result depends on
// every step; `yield` gives the hart to the other process between steps when set, so the
// values live in FP registers across context switches.
static double fsqrt(double x)
{
	double r;
	__asm__("fsqrt.d %0, %1" : "=f"(r) : "f"(x));
	return r;
}

static unsigned long long fp_chain(double seed, int steps, int yield)
{
	double a = seed, b = 1.0 / seed, c = seed * 0.5;
	for (int i = 0; i < steps; i++) {
		a = __builtin_fma(a, b, c) / (1.0 + c * c);
		b = fsqrt(a * a + 1.0) - b * 0.25;
		c = c * 0.75 + (double)(float)(a - b);
		if (yield)
			my_syscall0(__NR_sched_yield);
	}
	union { double d; unsigned long long u; } r = { a + b * 3.0 + c * 7.0 };
	return r.u;
}

static unsigned int read_fflags(void)
{
	unsigned int f;
	__asm__ volatile("frflags %0" : "=r"(f));
	return f;
}

static void check_fp(void)
{
	const int steps = 2000;
	unsigned long long want[2] = { fp_chain(1.25, steps, 0), fp_chain(3.5, steps, 0) };
	int pids[2];
	for (int k = 0; k < 2; k++) {
		pids[k] = fork();
		if (pids[k] == 0) {
			// Both on hart 0, so every yield switches between the two.
			unsigned long mask = 1;
			if (my_syscall3(__NR_sched_setaffinity, 0, sizeof(mask), &mask) != 0)
				_exit(101);
			// Process 0 keeps fflags clear; process 1 accrues inexact (NX) and keeps it.
			__asm__ volatile("fsflags zero");
			unsigned long long got = fp_chain(k ? 3.5 : 1.25, steps, 1);
			unsigned int flags = read_fflags();
			if (k == 0)
				__asm__ volatile("fsflags zero");
			for (int i = 0; i < 200; i++)
				my_syscall0(__NR_sched_yield);
			unsigned int after = read_fflags();
			if (got != want[k])
				_exit(102);
			if ((flags & 1) == 0 || (k == 0 && after != 0) || (k == 1 && after != flags))
				_exit(103);
			_exit(0);
		}
	}
	int ok = 0;
	for (int k = 0; k < 2; k++) {
		int code = wait_child(pids[k]);
		CHECK(code == 0, "FP process %d: code %d", k, code);
		ok += code == 0;
	}
	SAY("fp: %d processes kept their FP registers and fflags across %d switches\n", ok, steps);
}
#endif

// ---- virtio devices (when the machine has them) --------------------------------------------

// The sum of `n` bytes, rotated: order-sensitive.
static unsigned int checksum(const unsigned char *p, int n)
{
	unsigned int sum = 0;
	for (int i = 0; i < n; i++)
		sum = (sum << 5 | sum >> 27) ^ p[i];
	return sum;
}

// The disk (/dev/vda) holds an ext2 file system the host made, with /hello.txt; init reads
// it, writes /written.bin (64 KiB of a known pattern), syncs, reads it back, unmounts. The host
// test then reads written.bin out of the image file.
static void check_disk(void)
{
	int fd = open("/dev/vda", O_RDONLY, 0);
	if (fd < 0) {
		SAY("disk: none\n");
		return;
	}
	close(fd);
	CHECK(mount("/dev/vda", "/mnt", "ext2", 0, NULL) == 0, "mount /dev/vda on /mnt failed");
	int n = read_file("/mnt/hello.txt", big, sizeof(big));
	CHECK(n > 0, "/mnt/hello.txt unreadable");
	SAY("disk: hello.txt has %d bytes, checksum %08x\n", n, checksum((unsigned char *)big, n > 0 ? n : 0));

	static unsigned char pattern[65536];
	unsigned int s = 777;
	for (int i = 0; i < (int)sizeof(pattern); i++)
		pattern[i] = lcg(&s) >> 24;
	fd = open("/mnt/written.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0, "cannot create /mnt/written.bin");
	if (fd >= 0) {
		CHECK(write(fd, pattern, sizeof(pattern)) == (int)sizeof(pattern), "short write");
		CHECK(fsync(fd) == 0, "fsync failed");
		close(fd);
	}
	my_syscall0(__NR_sync);
	memset(pattern, 0, sizeof(pattern));
	fd = open("/mnt/written.bin", O_RDONLY, 0);
	int got = 0, r;
	while (fd >= 0 && got < (int)sizeof(pattern) && (r = read(fd, pattern + got, sizeof(pattern) - got)) > 0)
		got += r;
	if (fd >= 0)
		close(fd);
	CHECK(got == (int)sizeof(pattern), "read back %d bytes", got);
	CHECK(my_syscall2(__NR_umount2, "/mnt", 0) == 0, "umount /mnt failed");
	SAY("disk: wrote, synced and read back 64 KiB, checksum %08x\n", checksum(pattern, got));
}

static void check_rng(void)
{
	int fd = open("/dev/hwrng", O_RDONLY, 0);
	if (fd < 0) {
		SAY("rng: none\n");
		return;
	}
	unsigned char buf[64];
	int n = read(fd, buf, sizeof(buf)), zero = 0;
	close(fd);
	for (int i = 0; i < n; i++)
		zero += buf[i] == 0;
	CHECK(n == (int)sizeof(buf) && zero < 16, "/dev/hwrng: %d bytes, %d zero", n, zero);
	SAY("rng: 64 bytes from /dev/hwrng\n");
}

// With a virtio-net card (eth0): the interface gets 10.0.2.15/24 and sends a 64-byte UDP
// datagram to 10.0.2.2:7 (again each second until answered); the host test's peer at the
// other end of the -netdev UDP link answers the kernel's ARP request and echoes the datagram
// with every byte xor 0x5a. nolibc has no sockets: raw system calls, and the two uapi
// structures spelled out (struct sockaddr is libc's).
struct init_sockaddr_in {
	unsigned short family, port;
	unsigned int addr;
	unsigned char zero[8];
};
struct init_ifreq {
	char name[16];
	union {
		struct init_sockaddr_in addr;
		short flags;
		char pad[24];
	} u;
};

static unsigned int ipv4(unsigned int a, unsigned int b, unsigned int c, unsigned int d)
{
	return a | b << 8 | c << 16 | d << 24; // network order on a little-endian hart
}

static void check_net(void)
{
	char mac[32];
	int n = read_file("/sys/class/net/eth0/address", mac, sizeof(mac) - 1);
	if (n <= 0) {
		SAY("net: none\n");
		return;
	}
	mac[n] = 0;
	if (n > 0 && mac[n - 1] == '\n')
		mac[n - 1] = 0;
	int s = my_syscall3(__NR_socket, 2 /* AF_INET */, 2 /* SOCK_DGRAM */, 0);
	CHECK(s >= 0, "socket: %d", s);
	if (s < 0)
		return;
	struct init_ifreq r;
	memset(&r, 0, sizeof(r));
	strcpy(r.name, "eth0");
	r.u.addr.family = 2;
	r.u.addr.addr = ipv4(10, 0, 2, 15);
	CHECK(my_syscall3(__NR_ioctl, s, 0x8916 /* SIOCSIFADDR */, &r) == 0, "SIOCSIFADDR");
	r.u.addr.addr = ipv4(255, 255, 255, 0);
	CHECK(my_syscall3(__NR_ioctl, s, 0x891c /* SIOCSIFNETMASK */, &r) == 0, "SIOCSIFNETMASK");
	memset(&r.u, 0, sizeof(r.u));
	r.u.flags = 1; // IFF_UP
	CHECK(my_syscall3(__NR_ioctl, s, 0x8914 /* SIOCSIFFLAGS */, &r) == 0, "SIOCSIFFLAGS");
	struct init_sockaddr_in to = { 2, 7 << 8 /* port 7 */, ipv4(10, 0, 2, 2), { 0 } };
	unsigned char out[64], in[128];
	for (int i = 0; i < (int)sizeof(out); i++)
		out[i] = (unsigned char)(i * 7 + 1);
	int got = -1;
	for (int tries = 0; tries < 20 && got < 0; tries++) {
		my_syscall6(__NR_sendto, s, out, sizeof(out), 0, &to, sizeof(to));
		struct pollfd p = { .fd = s, .events = POLLIN };
		if (poll(&p, 1, 1000) > 0)
			got = my_syscall6(__NR_recvfrom, s, in, sizeof(in), 0, NULL, NULL);
	}
	close(s);
	CHECK(got == (int)sizeof(out), "net: no echo from 10.0.2.2 (%d)", got);
	int bad = 0;
	for (int i = 0; i < got && i < (int)sizeof(out); i++)
		bad += in[i] != (out[i] ^ 0x5a);
	CHECK(bad == 0, "net: %d bytes of the echo wrong", bad);
	if (got == (int)sizeof(out) && bad == 0)
		SAY("net: eth0 %s, 10.0.2.15 to 10.0.2.2: 64 bytes echoed\n", mac);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "exec-child") == 0)
		return 42;

	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	SAY("started, pid %d\n", getpid());
	CHECK(getpid() == 1, "init is not pid 1");

	int cpus = check_proc();
	check_fork_exec();
	check_pipe();
	check_signals();
	check_sleep();
	check_mmap();
	check_memory();
	check_harts(cpus);
	check_segv();
#ifdef __riscv_flen
	check_fp();
#endif
	check_disk();
	check_rng();
	check_net();

	if (failures == 0)
		SAY("all checks passed\n");
	else
		SAY("FAILED (%d checks)\n", failures);
	my_syscall0(__NR_sync);
	reboot(LINUX_REBOOT_CMD_POWER_OFF);
	SAY("power-off returned\n");
	for (;;)
		sleep_ms(1000);
}
