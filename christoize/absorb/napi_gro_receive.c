// SPDX-License-Identifier: GPL-2.0
/* napi_gro_receive absorbed (net/core/gro.c): the GRO_NORMAL path only — the device's GRO is off
 * (no NETIF_F_GRO, as after `ethtool -K IFACE gro off`), no XDP program, nothing held in the NAPI
 * instance's GRO lists. Then the kernel's function does exactly this: mark the skb with the NAPI id,
 * reset the GRO control block, skip GRO (dev_gro_receive's netif_elide_gro), and queue the skb on
 * napi->rx_list (gro_normal_one); every gro_normal_batch packets the list goes up the stack in one
 * call. So a packet costs no crossing here: the kernel itself flushes napi->rx_list when the poll
 * ends (napi_complete_done, __napi_poll), and the batch flush is one exit per 8 packets.
 *
 * Differences, both visible only to someone tuning or tracing the kernel: gro_normal_batch is
 * not exported to modules, so the batch is its default, 8, whatever the sysctl says; and the
 * napi_gro_receive_entry/exit tracepoints (not exported either) do not fire for absorbed calls.
 *
 * Everything else — GRO on, an XDP program, held GRO packets, an skb without a linear header
 * (GRO's frag0 case), a list that fails CONFIG_DEBUG_LIST's checks (the kernel's list_add_tail
 * reports it) — goes to the kernel's napi_gro_receive through its exit wrapper, before the skb or
 * the list is touched. */
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <net/busy_poll.h>
#include <net/gro.h>

#include "christo_absorb.h"

CHRISTO_ABSORB(napi_gro_receive, "napi_gro_receive netif_receive_skb_list", "");

#define CHRISTO_GRO_NORMAL_BATCH 8 /* gro_normal_batch's default (net/core/gro.c) */

gro_result_t christo_absorbed_napi_gro_receive(struct napi_struct *napi, struct sk_buff *skb)
{
	struct list_head *head = &napi->rx_list, *last = head->prev, *new = &skb->list;

	/* __list_add_valid(new, last, head), CONFIG_DEBUG_LIST's check of list_add_tail */
	if (unlikely(!netif_elide_gro(skb->dev) || napi->gro_bitmask || !skb_headlen(skb) || !last ||
		     last->next != head || new == last || new == head))
		return napi_gro_receive(napi, skb);

	skb_mark_napi_id(skb, napi);
	NAPI_GRO_CB(skb)->data_offset = 0; /* skb_gro_reset_offset(skb, 0) with a linear header */
	NAPI_GRO_CB(skb)->frag0 = NULL;
	NAPI_GRO_CB(skb)->frag0_len = 0;

	/* gro_normal_one(napi, skb, 1) */
	new->next = head;
	new->prev = last;
	head->prev = new;
	WRITE_ONCE(last->next, new);
	if (++napi->rx_count >= CHRISTO_GRO_NORMAL_BATCH) {
		netif_receive_skb_list(head); /* gro_normal_list: the one crossing per batch */
		INIT_LIST_HEAD(head);
		napi->rx_count = 0;
	}
	return GRO_NORMAL;
}
