package main

import (
	"testing"

	"xchat/internal/config"
)

// Every colour name the configuration accepts reaches the interface theme.
func TestUIThemeColors(t *testing.T) {
	colors := map[string]string{}
	for i, n := range config.ColorNames {
		colors[n] = string(rune('0' + i%10))
	}
	th := uiTheme("light", colors)
	if th.Background != "light" {
		t.Errorf("background %q", th.Background)
	}
	set := 0
	for _, v := range []string{th.Title, th.TitleBackground, th.Status, th.StatusBackground, th.StatusError,
		th.Online, th.Away, th.Busy, th.Offline, th.Unread, th.Group, th.Request, th.Error, th.Link, th.Code, th.Quote, th.Accent} {
		if v != "" {
			set++
		}
	}
	if set != len(config.ColorNames) {
		t.Errorf("%d of %d colours reached the theme", set, len(config.ColorNames))
	}
	if err := th.Validate(); err != nil {
		t.Errorf("theme from valid colours does not validate: %v", err)
	}
}
