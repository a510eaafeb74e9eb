#!/bin/sh
echo POWEROFF-NOW
poweroff -f
