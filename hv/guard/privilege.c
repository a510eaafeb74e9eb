/* Privilege registry (docs/border-control.md, tech report §4.4). Pure logic, fixed-size tables. */
#include "guard/privilege.h"
#include "lib/lib.h"

void privilege_registry_init(struct privilege_registry *r) { memset(r, 0, sizeof(*r)); }

static bool name_ok(const char *name)
{
    if (!name)
        return false;
    size_t n = strnlen(name, PRIV_NAME_MAX);
    return n > 0 && n < PRIV_NAME_MAX;
}

static struct privilege_entry *entry(struct privilege_registry *r, int handle)
{
    if (!r || handle < 0 || (u32)handle >= r->count)
        return NULL;
    return &r->e[handle];
}

int privilege_lookup(const struct privilege_registry *r, const char *name)
{
    if (!r || !name_ok(name))
        return PRIV_EINVAL;
    for (u32 i = 0; i < r->count; i++)
        if (strcmp(r->e[i].name, name) == 0)
            return (int)i;
    return PRIV_ENOENT;
}

int privilege_register(struct privilege_registry *r, const char *name, const struct privilege_ops *ops, void *state)
{
    if (!r || !name_ok(name) || !ops || !ops->raise || !ops->lower)
        return PRIV_EINVAL;
    if (privilege_lookup(r, name) >= 0)
        return PRIV_EEXIST;
    if (r->count == PRIV_MAX)
        return PRIV_EFULL;
    struct privilege_entry *e = &r->e[r->count];
    memset(e, 0, sizeof(*e));
    memcpy(e->name, name, strlen(name) + 1);
    e->ops = ops;
    e->state = state;
    return (int)r->count++;
}

const char *privilege_name(const struct privilege_registry *r, int handle)
{
    if (!r || handle < 0 || (u32)handle >= r->count)
        return "?";
    return r->e[handle].name;
}

int privilege_activate(struct privilege_registry *r, int handle)
{
    struct privilege_entry *e = entry(r, handle);
    if (!e)
        return PRIV_EINVAL;
    if (e->active == 0 && e->ops->init && e->ops->init(e->state) != 0)
        return PRIV_EINIT;
    e->active++;
    return PRIV_OK;
}

int privilege_deactivate(struct privilege_registry *r, int handle)
{
    struct privilege_entry *e = entry(r, handle);
    if (!e || e->active == 0)
        return PRIV_EINVAL;
    if (--e->active == 0) {
        for (u32 v = 0; v < PRIV_MAX_VCPUS; v++)
            privilege_lower(r, handle, v);
        if (e->ops->deinit)
            e->ops->deinit(e->state);
    }
    return PRIV_OK;
}

int privilege_raise(struct privilege_registry *r, int handle, u32 vcpu)
{
    struct privilege_entry *e = entry(r, handle);
    if (!e)
        return PRIV_EINVAL;
    if (vcpu >= PRIV_MAX_VCPUS)
        return PRIV_EVCPU;
    privilege_raise_checked(r, handle, vcpu);
    return PRIV_OK;
}

int privilege_lower(struct privilege_registry *r, int handle, u32 vcpu)
{
    struct privilege_entry *e = entry(r, handle);
    if (!e)
        return PRIV_EINVAL;
    if (vcpu >= PRIV_MAX_VCPUS)
        return PRIV_EVCPU;
    privilege_lower_checked(r, handle, vcpu);
    return PRIV_OK;
}

bool privilege_is_raised(const struct privilege_registry *r, int handle, u32 vcpu)
{
    if (!r || handle < 0 || (u32)handle >= r->count || vcpu >= PRIV_MAX_VCPUS)
        return false;
    return (r->e[handle].raised_mask & (1u << vcpu)) != 0;
}

int privilege_raise_by_name(struct privilege_registry *r, const char *name, u32 vcpu)
{
    int h = privilege_lookup(r, name);
    return h < 0 ? h : privilege_raise(r, h, vcpu);
}

int privilege_lower_by_name(struct privilege_registry *r, const char *name, u32 vcpu)
{
    int h = privilege_lookup(r, name);
    return h < 0 ? h : privilege_lower(r, h, vcpu);
}

const char *privilege_strerror(int err)
{
    switch (err) {
    case PRIV_OK:
        return "ok";
    case PRIV_EINVAL:
        return "invalid argument";
    case PRIV_EEXIST:
        return "privilege name already registered";
    case PRIV_ENOENT:
        return "no such privilege";
    case PRIV_EFULL:
        return "privilege table full";
    case PRIV_EVCPU:
        return "vCPU id out of range";
    case PRIV_EINIT:
        return "privilege component init failed";
    default:
        return err >= 0 ? "ok" : "unknown error";
    }
}

/* Appends at most max characters of s to the string in buf (size n > 0), always NUL-terminated. */
static void append(char *buf, size_t n, const char *s, size_t max)
{
    size_t len = strnlen(buf, n - 1);
    for (size_t i = 0; i < max && s[i] && len + 1 < n; i++)
        buf[len++] = s[i];
    buf[len] = 0;
}

void privilege_unknown_why(const struct privilege_registry *r, const char *name, char *buf, size_t n)
{
    if (!buf || n == 0)
        return;
    buf[0] = 0;
    append(buf, n, "no component offers privilege '", ~(size_t)0);
    append(buf, n, name ? name : "", PRIV_NAME_MAX - 1);
    append(buf, n, "' (offered: ", ~(size_t)0);
    for (u32 i = 0; r && i < r->count; i++) {
        append(buf, n, i ? ", " : "", ~(size_t)0);
        append(buf, n, r->e[i].name, PRIV_NAME_MAX);
    }
    append(buf, n, r && r->count ? ")" : "none)", ~(size_t)0);
}

/* ---------------------------------------------------------------- the `test` privilege component */

static struct privilege_test_stats test_state;

static int test_init(void *state)
{
    struct privilege_test_stats *s = state;
    s->initialized = true;
    s->inits++;
    return 0;
}

static void test_deinit(void *state)
{
    struct privilege_test_stats *s = state;
    s->initialized = false;
    s->deinits++;
}

static void test_raise(u32 vcpu, void *state)
{
    struct privilege_test_stats *s = state;
    s->raised_mask |= 1u << vcpu;
    s->raises++;
}

static void test_lower(u32 vcpu, void *state)
{
    struct privilege_test_stats *s = state;
    s->raised_mask &= ~(1u << vcpu);
    s->lowers++;
}

const struct privilege_ops privilege_test_ops = {
    .init = test_init,
    .deinit = test_deinit,
    .raise = test_raise,
    .lower = test_lower,
};

int privilege_test_register(struct privilege_registry *r)
{
    return privilege_register(r, PRIV_TEST_NAME, &privilege_test_ops, &test_state);
}

bool privilege_test_is_raised(u32 vcpu)
{
    return vcpu < PRIV_MAX_VCPUS && (test_state.raised_mask & (1u << vcpu)) != 0;
}

void privilege_test_stats(struct privilege_test_stats *out) { *out = test_state; }

void privilege_test_reset(void) { memset(&test_state, 0, sizeof(test_state)); }
