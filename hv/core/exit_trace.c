/* A ring of the last VM exits, printed by panic(). Recording is a few stores: it runs on every exit. */
#include "core/exit_trace.h"
#include "lib/log.h"

struct exit_record {
    u64 seq, rip, info1, info2;
    const char *name;
    u32 code;
};

static struct exit_record ring[EXIT_TRACE_LEN];
static u64 seq;

void exit_trace_record(u32 code, const char *name, u64 rip, u64 info1, u64 info2)
{
    struct exit_record *r = &ring[seq % EXIT_TRACE_LEN];
    r->seq = ++seq;
    r->code = code;
    r->name = name;
    r->rip = rip;
    r->info1 = info1;
    r->info2 = info2;
}

void exit_trace_dump(void)
{
    u64 n = seq < EXIT_TRACE_LEN ? seq : EXIT_TRACE_LEN;
    LOG("last %llu of %llu exits (oldest first):", (unsigned long long)n, (unsigned long long)seq);
    for (u64 i = seq - n; i < seq; i++) {
        struct exit_record *r = &ring[i % EXIT_TRACE_LEN];
        LOG("  #%llu %-10s code 0x%x rip 0x%llx info1 0x%llx info2 0x%llx", (unsigned long long)r->seq,
            r->name ? r->name : "?", r->code, (unsigned long long)r->rip, (unsigned long long)r->info1,
            (unsigned long long)r->info2);
    }
}
