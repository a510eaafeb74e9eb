// SPDX-License-Identifier: GPL-2.0
/* skb_clone_tx_timestamp absorbed (net/core/timestamping.c): called for every packet sent
 * (skb_tx_timestamp), it does something only for a packet with a socket on a device whose PHY has
 * a MII timestamper (classify() returns PTP_CLASS_NONE otherwise, before running the PTP BPF
 * classifier). The e1000 has no phydev, so: return when there is nothing to do, exactly the
 * kernel's tests; a device with a timestamper goes to the kernel's skb_clone_tx_timestamp
 * through its exit wrapper. */
#include <linux/netdevice.h>
#include <linux/phy.h>
#include <linux/skbuff.h>

#include "christo_absorb.h"

CHRISTO_ABSORB(skb_clone_tx_timestamp, "skb_clone_tx_timestamp", "");

void christo_absorbed_skb_clone_tx_timestamp(struct sk_buff *skb)
{
	if (!skb->sk || !skb->dev || !skb->dev->phydev || !skb->dev->phydev->mii_ts)
		return;
	skb_clone_tx_timestamp(skb);
}
