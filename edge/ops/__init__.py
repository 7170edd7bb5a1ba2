"""Operations: systemd integration (notify, watchdog), provisioning, doctor, metrics, calibration."""
