/*
 * The acpi-firmware-region case's SSDT (iasl, from acpica-tools): a SystemMemory OperationRegion
 * in firmware memory (0x8ff000: the last page of OVMF's fixed ACPI NVS range 0x810000-0x8fffff,
 * its SEC/PEI temporary RAM kept for S3), written and read back by the _STA of device PST0001.
 */
DefinitionBlock ("", "SSDT", 2, "POSTRN", "FWREGION", 1)
{
    Scope (\_SB)
    {
        OperationRegion (FWRG, SystemMemory, 0x008FF000, 0x10)
        Field (FWRG, DWordAcc, NoLock, Preserve)
        {
            MAGI, 32
        }

        Device (PFWR)
        {
            Name (_HID, "PST0001")
            Name (_UID, One)
            Method (_STA, 0, Serialized)
            {
                MAGI = 0x5053544E
                If (MAGI == 0x5053544E)
                {
                    Return (0x0F)
                }
                Return (Zero)
            }
        }
    }
}
