package io.cusprun.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.model.Tensors;
import org.junit.jupiter.api.Test;

/** The one parser of device names, and the names it gives back (what LibTorch and the flags take). */
class DeviceTest {
    @Test
    void namesRoundTripAndNormalise() {
        assertEquals(Device.CPU, Device.parse("cpu"));
        assertEquals(Device.CPU, Device.parse(" CPU "));
        assertEquals(Device.cuda(0), Device.parse("cuda"));
        assertEquals(Device.cuda(3), Device.parse("cuda:3"));
        for (String name : new String[] {"cpu", "cuda:0", "cuda:17"}) {
            assertEquals(name, Device.parse(name).toString());
        }
        assertFalse(Device.CPU.isCuda());
        assertTrue(Device.parse("cuda:2").isCuda());
        assertEquals(2, Device.parse("cuda:2").index());
    }

    @Test
    void badNamesAreRefusedNamingTheValue() {
        for (String bad : new String[] {"", "gpu", "cuda:", "cuda:-1", "cuda:x", "cuda:12345", "cpu:0"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Device.parse(bad));
            assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> Device.cuda(-1));
        assertThrows(IllegalArgumentException.class, () -> new Device(-2));
    }

    @Test
    void aTensorsDeviceIsNamedAsParsed() {
        assertEquals(Device.CPU, Device.of(Tensors.ofLongs(new long[] {1, 2})));
    }
}
