window.clipWaveform = { loaded: async () => {} };
