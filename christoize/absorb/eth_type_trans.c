// SPDX-License-Identifier: GPL-2.0
/* eth_type_trans absorbed (net/ethernet/eth.c): the common case only — a linear Ethernet II
 * header on a device that does not use DSA tagging. Set skb->dev and the MAC header, pull the 14
 * header bytes, classify the destination (eth_skb_pkt_type) and return the EtherType. Anything
 * else (a short or nonlinear header, DSA, an 802.3 length field: IPX or LLC) goes to the kernel's
 * eth_type_trans through its exit wrapper, before the skb is touched. */
#include <linux/etherdevice.h>
#include <linux/skbuff.h>
#include <net/dsa.h>

#include "christo_absorb.h"

CHRISTO_ABSORB(eth_type_trans, "eth_type_trans", "");

__be16 christo_absorbed_eth_type_trans(struct sk_buff *skb, struct net_device *dev)
{
	const struct ethhdr *eth = (const struct ethhdr *)skb->data;

	if (unlikely(skb_headlen(skb) < ETH_HLEN || netdev_uses_dsa(dev) || !eth_proto_is_802_3(eth->h_proto)))
		return eth_type_trans(skb, dev);
	skb->dev = dev;
	skb_reset_mac_header(skb);
	skb_pull_inline(skb, ETH_HLEN);
	eth_skb_pkt_type(skb, dev);
	return eth->h_proto;
}
